//! `anomaly`: the trained IsolationForest scores a client's behaviour after each response.
//!
//! A client is blocked only when its features are anomalous AND show evidence of probing
//! ([`Features::suspicious`]): a polling dashboard is an outlier by request rate alone and was
//! blocked by AIWAF (issue #15). Scoring runs only when that evidence is present, so ordinary
//! traffic never pays for the trees.

use crate::bundle::{AnomalyModel, Bundle};
use crate::detect::{DetectorId, Finding};
use crate::error::Error;
use crate::features::{Features, FEATURES, FEATURE_NAMES};
use crate::forest::IsolationForest;

/// The compiled model, if the bundle has one and AI is not disabled.
#[derive(Debug, Default)]
pub(crate) struct Anomaly {
    forest: Option<IsolationForest>,
}

impl Anomaly {
    /// Checks and keeps the bundle's model. A model trained on other features, or malformed,
    /// is an error: silently dropping it would be a weaker policy than the operator pushed.
    pub(crate) fn new(bundle: &Bundle) -> Result<Anomaly, Error> {
        let Some(model) = &bundle.learned.model else {
            return Ok(Anomaly::default());
        };
        check(model)?;
        if bundle.settings.disable_ai {
            return Ok(Anomaly::default());
        }
        Ok(Anomaly {
            forest: Some(model.forest.clone()),
        })
    }

    /// True when a model is loaded.
    pub(crate) fn active(&self) -> bool {
        self.forest.is_some()
    }

    /// Trees in the model (0 without one), for summaries.
    pub(crate) fn trees(&self) -> usize {
        self.forest.as_ref().map_or(0, |f| f.trees.len())
    }

    /// A finding when `x` is suspicious and the model scores it anomalous.
    pub(crate) fn judge(&self, x: &Features) -> Option<Finding> {
        let forest = self.forest.as_ref()?;
        if !x.suspicious() {
            return None;
        }
        let score = forest.score(&x.0);
        (score >= forest.threshold).then(|| {
            let v = x.0;
            Finding::new(
                DetectorId::Anomaly,
                "anomalous_behaviour",
                format!(
                    "score {score:.3} >= {:.3}; kw {}, 404s {}, errors {}, burst {}",
                    forest.threshold, v[1], v[4], v[5], v[3]
                ),
            )
        })
    }
}

fn check(model: &AnomalyModel) -> Result<(), Error> {
    if model
        .feature_names
        .iter()
        .map(String::as_str)
        .ne(FEATURE_NAMES)
    {
        return Err(Error::invalid(
            "learned.model.feature_names",
            format!(
                "the model was trained on other features than this build's ({}); retrain it",
                FEATURE_NAMES.join(", ")
            ),
        ));
    }
    if model.forest.features != FEATURES {
        return Err(Error::invalid(
            "learned.model.forest.features",
            format!("must be {FEATURES}"),
        ));
    }
    model
        .forest
        .validate()
        .map_err(|e| Error::invalid("learned.model.forest", e))
}
