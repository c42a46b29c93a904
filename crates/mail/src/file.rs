//! The file transport: one `<outbox-id>.eml` per message, written to a
//! temporary file and renamed into place, so a reader never sees half a
//! message and a retry replaces the file instead of adding one.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use beckon_ports::{MailError, OutboxId};

use crate::config::MailConfigError;

/// Writes messages into one folder.
#[derive(Debug, Clone)]
pub(crate) struct FileSink {
    dir: PathBuf,
}

impl FileSink {
    /// Creates the folder if it is missing, so a bad path stops the
    /// process at start rather than at the first send.
    pub(crate) fn new(dir: PathBuf) -> Result<Self, MailConfigError> {
        fs::create_dir_all(&dir).map_err(|e| {
            MailConfigError::new(
                "BECKON_MAILER",
                format!("cannot create the folder {}: {}", dir.display(), e.kind()),
            )
        })?;
        Ok(Self { dir })
    }

    /// The path a message is written to.
    pub(crate) fn path_of(&self, id: OutboxId) -> PathBuf {
        self.dir.join(format!("{}.eml", id.as_uuid().hyphenated()))
    }

    /// Writes `bytes` as the message `id`, replacing an earlier attempt.
    pub(crate) async fn write(&self, id: OutboxId, bytes: Vec<u8>) -> Result<(), MailError> {
        let dir = self.dir.clone();
        let target = self.path_of(id);
        tokio::task::spawn_blocking(move || write_atomically(&dir, &target, id, &bytes))
            .await
            .map_err(|_| MailError::Transient("the file writer task did not finish".to_owned()))?
            .map_err(|e| MailError::Transient(format!("cannot write the message file: {e}")))
    }
}

fn write_atomically(dir: &Path, target: &Path, id: OutboxId, bytes: &[u8]) -> io::Result<()> {
    // Recreated here too: someone may have removed the folder since start.
    fs::create_dir_all(dir)?;
    // A random suffix keeps two workers racing on one message (a lease that
    // ran out) from writing into the same temporary file. The leading dot
    // keeps it out of `*.eml` globs.
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        id.as_uuid().hyphenated(),
        uuid::Uuid::new_v4().simple()
    ));
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        file.write_all(bytes)?;
        // Durable before it becomes visible: a crash must not leave an
        // empty `.eml` behind a message the outbox marked as sent.
        file.sync_all()?;
        fs::rename(&tmp, target)
    })();
    if result.is_err() {
        // Best effort: the original error is what matters.
        let _ = fs::remove_file(&tmp);
    }
    result?;
    sync_dir(dir);
    Ok(())
}

/// Makes the rename itself durable where the platform allows it.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = fs::File::open(dir) {
        // Best effort: some file systems refuse fsync on a directory.
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}
