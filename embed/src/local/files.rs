//! The files the local model is made of, all in one folder fetched by `make models`. Nothing is
//! downloaded when one is missing: the error says which file, where, and how to fetch it.

use std::path::{Path, PathBuf};

use recete_knowledge::EmbedError;

use super::MODEL_NAME;

pub(crate) const CONFIG_FILE: &str = "config.json";
pub(crate) const WEIGHTS_FILE: &str = "model.safetensors";
pub(crate) const TOKENIZER_FILE: &str = "tokenizer.json";

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ModelFiles {
    /// The folder as given, for messages: it is what the operator configured.
    pub folder: PathBuf,
    pub config: PathBuf,
    pub weights: PathBuf,
    pub tokenizer: PathBuf,
}

impl ModelFiles {
    /// The three files in `folder`, or an error naming the first one that is missing.
    pub(crate) fn locate(folder: &Path) -> Result<Self, EmbedError> {
        if !folder.is_dir() {
            return Err(EmbedError::Model(format!(
                "model folder {} not found; run `make models` to fetch {MODEL_NAME}",
                folder.display()
            )));
        }
        let file = |name: &str| {
            let path = folder.join(name);
            if path.is_file() {
                Ok(path)
            } else {
                Err(EmbedError::Model(format!(
                    "{name} not found in model folder {}; run `make models` to fetch {MODEL_NAME}",
                    folder.display()
                )))
            }
        };
        Ok(Self {
            folder: folder.to_path_buf(),
            config: file(CONFIG_FILE)?,
            weights: file(WEIGHTS_FILE)?,
            tokenizer: file(TOKENIZER_FILE)?,
        })
    }

    /// An error about one of these files that could not be read or understood.
    pub(crate) fn unreadable(&self, name: &str, cause: impl std::fmt::Display) -> EmbedError {
        EmbedError::Model(format!(
            "{name} in model folder {} is unusable ({cause}); run `make models` to fetch {MODEL_NAME} again",
            self.folder.display()
        ))
    }
}
