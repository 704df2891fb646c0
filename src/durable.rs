//! A large file made durable as it is written. The kernel holds written pages in memory and
//! sends them to the disk only when it must: a file of 1.5 GB synced once at its end (a
//! registry snapshot at national scale) keeps its writer waiting while the whole file goes to
//! the disk (0.6 s at 10M on the bench machine). [`SyncedAsWritten`] asks, from a thread of its
//! own, for what was written so far to go to the disk every so many bytes, while the writer
//! goes on; the sync that ends the file then waits for its last part only. What is durable,
//! and when the file is known to be, do not change: [`SyncedAsWritten::finish`] returns once
//! every byte is on the disk, as `File::sync_all` does.

use std::fs::File;
use std::io::{self, Write};
use std::sync::mpsc::{self, SyncSender};
use std::thread::JoinHandle;

/// Bytes written between two early syncs.
pub const EVERY: u64 = 128 << 20;

/// A file whose writes are sent to the disk as it is written ([the module](self)).
#[derive(Debug)]
pub struct SyncedAsWritten {
    file: File,
    every: u64,
    since: u64,
    /// The syncing thread: told to sync (at most one sync waiting), and what it did (early
    /// syncs made, or the first that failed). `None` when the thread could not be started:
    /// the file is then synced at its end only.
    syncer: Option<(SyncSender<()>, JoinHandle<io::Result<u64>>)>,
}

impl SyncedAsWritten {
    /// `file`, synced every [`EVERY`] bytes written.
    pub fn new(file: File) -> SyncedAsWritten {
        SyncedAsWritten::every(file, EVERY)
    }

    /// `file`, synced every `every` bytes written.
    pub fn every(file: File, every: u64) -> SyncedAsWritten {
        let syncer = file.try_clone().ok().and_then(|clone| {
            let (tell, told) = mpsc::sync_channel::<()>(1);
            std::thread::Builder::new()
                .name("suiji-sync".into())
                .spawn(move || {
                    let mut syncs = 0;
                    while told.recv().is_ok() {
                        clone.sync_data()?;
                        syncs += 1;
                    }
                    Ok(syncs)
                })
                .ok()
                .map(|thread| (tell, thread))
        });
        SyncedAsWritten {
            file,
            every: every.max(1),
            since: 0,
            syncer,
        }
    }

    /// Waits for the syncing thread, then syncs the file whole (its data and its metadata):
    /// every byte written is on the disk when this returns `Ok`, with the number of syncs made
    /// while it was written.
    pub fn finish(mut self) -> io::Result<u64> {
        let early = match self.syncer.take() {
            Some((tell, thread)) => {
                drop(tell);
                thread
                    .join()
                    .map_err(|_| io::Error::other("the thread syncing a file stopped"))??
            }
            None => 0,
        };
        self.file.sync_all()?;
        Ok(early)
    }
}

impl Write for SyncedAsWritten {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.since += n as u64;
        if self.since >= self.every {
            self.since = 0;
            // A sync already waiting covers these bytes too (the channel is full); a thread
            // that stopped because a sync failed says why in `finish`.
            if let Some((tell, _)) = &self.syncer {
                let _ = tell.try_send(());
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_synced_as_written_holds_every_byte_and_is_synced_on_the_way() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("big");
        let mut out = SyncedAsWritten::every(File::create(&path).expect("create"), 1024);
        let mut want = Vec::new();
        for i in 0..512u32 {
            let line = format!("row {i}: {}\n", "x".repeat((i % 61) as usize));
            out.write_all(line.as_bytes()).expect("write");
            want.extend_from_slice(line.as_bytes());
        }
        let early = out.finish().expect("finish");
        assert!(early >= 1, "no sync was asked for on the way");
        assert_eq!(std::fs::read(&path).expect("read"), want);
    }

    #[test]
    fn a_small_file_is_synced_at_its_end_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("small");
        let mut out = SyncedAsWritten::new(File::create(&path).expect("create"));
        out.write_all(b"id,name\n").expect("write");
        assert_eq!(out.finish().expect("finish"), 0);
        assert_eq!(std::fs::read(&path).expect("read"), b"id,name\n");
    }
}
