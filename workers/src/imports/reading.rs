//! Reading a stored upload back as a stream of parsed records, in bounded memory.
//!
//! Three stages, joined by bounded channels so none can run far ahead of the next:
//! - the feeder (async) fetches and opens the file's pieces one at a time, holding at most one
//!   piece in the channel;
//! - the parser (a blocking thread, because CSV reading is synchronous) reads the pieces as one
//!   `Read` stream through `recete-imports`, skips the records a previous run already committed,
//!   and parses the rest;
//! - the caller receives [`Item`]s, at most one batch's worth queued.
//!
//! So a run holds about three pieces of the file (one queued, one being read, one being
//! fetched) and two batches of rows, whatever the file's size.
//!
//! A failure to fetch a piece must never look like the end of the file or like a bad row: the
//! feeder raises [`Reading::aborted`] before the reader reports the failure, and the caller
//! checks it before committing anything read after that point.

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use recete_imports::{CsvRecords, CustomerRow, ImportKind, OrderRow, ParseOptions, ProductRow, Profile, RowError};
use recete_platform::crypto::Keyring;
use recete_platform::db;
use recete_platform::ids::{ImportId, MerchantId};
use recete_shared::imports::store;
use sqlx::PgPool;
use tokio::sync::mpsc;

/// One record of the file, as far as it could be read.
#[derive(Debug)]
pub enum Parsed {
    Order(Box<OrderRow>),
    Product(Box<ProductRow>),
    Customer(Box<CustomerRow>),
    /// The record could not be imported.
    Failed(RowError),
}

#[derive(Debug)]
pub struct Record {
    pub line: u64,
    /// The fields as read, for the errors file should the record fail.
    pub fields: Vec<String>,
    pub parsed: Parsed,
    /// Bytes of the file read by the time this record was, for progress.
    pub bytes_read: u64,
}

impl Record {
    /// The order a record belongs to, for keeping an order's rows in one batch.
    pub fn order_group(&self) -> Option<&str> {
        match &self.parsed {
            Parsed::Order(row) => Some(&row.group),
            _ => None,
        }
    }
}

#[derive(Debug)]
pub enum Item {
    /// The header was read: the file's columns as written, those not used, and the origin it
    /// was recognised as.
    Opened {
        headers: Vec<String>,
        ignored: Vec<String>,
        profile: Profile,
    },
    Record(Record),
    /// Reading stopped before the end of the file (a record too large, an unreadable byte
    /// stream); `error` is the record it stopped at, counted like any failed record.
    Interrupted {
        error: RowError,
        reason: String,
        bytes_read: u64,
    },
    /// The whole file was read; `total` records in all, committed ones included.
    End {
        total: u64,
    },
    /// The file cannot be imported at all.
    Refused {
        reason: String,
    },
}

/// A running read of one upload.
pub struct Reading {
    pub items: mpsc::Receiver<Item>,
    /// Set when a piece of the file could not be fetched or opened; whatever was read after
    /// that must not be committed.
    pub aborted: Arc<AtomicBool>,
    /// Why, when `aborted` is set.
    pub abort_reason: Arc<std::sync::Mutex<Option<String>>>,
}

impl Reading {
    pub fn is_aborted(&self) -> bool {
        self.aborted.load(Ordering::SeqCst)
    }

    pub fn abort_reason(&self) -> String {
        self.abort_reason
            .lock()
            .ok()
            .and_then(|reason| reason.clone())
            .unwrap_or_else(|| "the stored file could not be read".into())
    }
}

/// What to read and how.
pub struct Source {
    pub pool: PgPool,
    pub keyring: Arc<Keyring>,
    pub merchant: MerchantId,
    pub import: ImportId,
    pub chunk_count: i32,
    pub kind: ImportKind,
    pub options: ParseOptions,
    /// Records a previous run already committed, skipped without parsing.
    pub skip: u64,
    /// Items queued between the parser and the caller.
    pub queue: usize,
}

/// Starts the feeder and the parser; the caller drains [`Reading::items`]. Dropping the reading
/// stops both.
pub fn start(source: Source) -> Reading {
    let aborted = Arc::new(AtomicBool::new(false));
    let abort_reason = Arc::new(std::sync::Mutex::new(None));
    let (pieces_tx, pieces_rx) = mpsc::channel(1);
    let (items_tx, items_rx) = mpsc::channel(source.queue.max(1));
    tokio::spawn(feed(
        source.pool.clone(),
        source.keyring.clone(),
        source.merchant,
        source.import,
        source.chunk_count,
        pieces_tx,
    ));
    let reader = PieceReader {
        pieces: pieces_rx,
        current: Vec::new(),
        position: 0,
        ended: false,
        read: Arc::new(AtomicU64::new(0)),
        aborted: aborted.clone(),
        abort_reason: abort_reason.clone(),
    };
    let Source { kind, options, skip, .. } = source;
    tokio::task::spawn_blocking(move || parse(reader, kind, &options, skip, &items_tx));
    Reading { items: items_rx, aborted, abort_reason }
}

enum Piece {
    Bytes(Vec<u8>),
    End,
    Failed(String),
}

async fn feed(
    pool: PgPool,
    keyring: Arc<Keyring>,
    merchant: MerchantId,
    import: ImportId,
    chunk_count: i32,
    pieces: mpsc::Sender<Piece>,
) {
    // One connection for every piece: each connection keeps a read buffer as large as the
    // largest row it has read, so spreading the pieces over the pool would grow them all.
    let mut tx = match db::tenant_tx(&pool, merchant).await {
        Ok(tx) => tx,
        Err(error) => {
            let _ = pieces.send(Piece::Failed(format!("the stored file could not be read: {error}"))).await;
            return;
        }
    };
    for seq in 0..chunk_count {
        let piece = match store::read_chunk(&mut tx, &keyring, merchant, import, seq).await {
            Ok(bytes) => Piece::Bytes(bytes),
            Err(error) => Piece::Failed(error.to_string()),
        };
        let failed = matches!(piece, Piece::Failed(_));
        if pieces.send(piece).await.is_err() || failed {
            return;
        }
    }
    if let Err(error) = tx.commit().await {
        let _ = pieces.send(Piece::Failed(format!("the stored file could not be read: {error}"))).await;
        return;
    }
    let _ = pieces.send(Piece::End).await;
}

/// The pieces as one byte stream. It ends only at the feeder's explicit end: a feeder that
/// stopped any other way is a read error, never a short file.
struct PieceReader {
    pieces: mpsc::Receiver<Piece>,
    current: Vec<u8>,
    position: usize,
    ended: bool,
    read: Arc<AtomicU64>,
    aborted: Arc<AtomicBool>,
    abort_reason: Arc<std::sync::Mutex<Option<String>>>,
}

impl PieceReader {
    fn abort(&self, reason: String) -> io::Error {
        if let Ok(mut slot) = self.abort_reason.lock() {
            *slot = Some(reason.clone());
        }
        self.aborted.store(true, Ordering::SeqCst);
        io::Error::other(reason)
    }
}

impl Read for PieceReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.position == self.current.len() {
            if self.ended {
                return Ok(0);
            }
            match self.pieces.blocking_recv() {
                Some(Piece::Bytes(bytes)) => {
                    self.current = bytes;
                    self.position = 0;
                }
                Some(Piece::End) => self.ended = true,
                Some(Piece::Failed(reason)) => return Err(self.abort(reason)),
                None => return Err(self.abort("reading the stored file stopped unexpectedly".into())),
            }
        }
        let count = buf.len().min(self.current.len() - self.position);
        buf[..count].copy_from_slice(&self.current[self.position..self.position + count]);
        self.position += count;
        self.read.fetch_add(count as u64, Ordering::Relaxed);
        Ok(count)
    }
}

/// The parser thread. Stops quietly when the caller has gone.
fn parse(reader: PieceReader, kind: ImportKind, options: &ParseOptions, skip: u64, items: &mpsc::Sender<Item>) {
    let read = reader.read.clone();
    let mut records = match CsvRecords::open(reader, kind) {
        Ok(records) => records,
        Err(error) => {
            let _ = items.blocking_send(Item::Refused { reason: error.to_string() });
            return;
        }
    };
    let opened = Item::Opened {
        headers: records.headers().to_vec(),
        ignored: records.ignored_columns().to_vec(),
        profile: records.profile(),
    };
    if items.blocking_send(opened).is_err() {
        return;
    }
    let mut index: u64 = 0;
    while let Some(next) = records.next() {
        index += 1;
        let bytes_read = read.load(Ordering::Relaxed);
        let item = match next {
            Err(error) => {
                let reason = records.interrupted().map_or_else(|| error.message.clone(), ToString::to_string);
                Item::Interrupted { error, reason, bytes_read }
            }
            Ok(_) if index <= skip => continue,
            Ok(raw) => {
                let parsed = match kind {
                    ImportKind::Orders => raw.parse_order(options).map(|row| Parsed::Order(Box::new(row))),
                    ImportKind::Products => raw.parse_product().map(|row| Parsed::Product(Box::new(row))),
                    ImportKind::Customers => raw.parse_customer(options).map(|row| Parsed::Customer(Box::new(row))),
                };
                let parsed = parsed.unwrap_or_else(Parsed::Failed);
                Item::Record(Record { line: raw.line, fields: raw.fields, parsed, bytes_read })
            }
        };
        let interrupted = matches!(item, Item::Interrupted { .. });
        if items.blocking_send(item).is_err() || interrupted {
            return;
        }
    }
    let _ = items.blocking_send(Item::End { total: index });
}
