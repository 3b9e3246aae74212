//! One loaded model per folder for the whole process: the weights take about 90 MB, and every
//! worker and test embedding with the same folder can use the same copy.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use recete_knowledge::EmbedError;

use super::LocalMiniLm;

static LOADED: LazyLock<Mutex<HashMap<PathBuf, Arc<LocalMiniLm>>>> = LazyLock::new(Mutex::default);

/// The model loaded from `folder`, loading it on first use. The lock is held while loading, so
/// callers asking at the same time wait for one load instead of each making their own. A failed
/// load is not remembered: a later call tries again (after `make models`, say).
pub(super) fn get_or_load(folder: &Path) -> Result<Arc<LocalMiniLm>, EmbedError> {
    // Different spellings of one folder share one model; a folder that does not exist keeps its
    // spelling and fails to load below with a message naming it.
    let key = std::fs::canonicalize(folder).unwrap_or_else(|_| folder.to_path_buf());
    let mut loaded = LOADED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(model) = loaded.get(&key) {
        return Ok(Arc::clone(model));
    }
    let model = Arc::new(LocalMiniLm::load(folder)?);
    loaded.insert(key, Arc::clone(&model));
    Ok(model)
}
