//! # microcue_app
//!
//! The local web app of microcue, served by `microcue serve`: a first-run page (what the tool
//! can and cannot do, the guide's ethics, whose face is on camera) and the live coach, where the
//! browser is the camera; the review of a recording; the drills (flash test, slow-motion study
//! of the user's confirmed events, mirror drill with the webcam, roleplay cards); the journal.
//! All are pages of the same server ([`pages::NAV`]), on the same [`Pipeline`] and journal.
//!
//! Main types: [`Server`] (bind, print the URL, serve until Ctrl-C), [`ServeOptions`]. The live
//! page sends each camera frame over a WebSocket as one binary message tagged with its capture
//! time ([`protocol`]); a worker thread per live session runs the pipeline and the coach
//! ([`coach::LiveCoach`]) and sends results back as JSON. Between the socket and the worker sits
//! a queue of two frames: when inference falls behind, frames are dropped knowingly and the page
//! says how many.
//!
//! Design choices, and why:
//! - tokio and axum live in this crate only; the pipeline, the coach and the journal are the
//!   library crates' own, so the CLI and the app never disagree.
//! - The UI is plain HTML, CSS and JavaScript embedded in the binary (`include_str!`): no Node
//!   toolchain, nothing fetched at run time.
//! - Security of a local app ([`security`]): loopback by default; any other address needs a
//!   random token; the `Host` header must be an IP address or `localhost` (no DNS rebinding);
//!   a request with a foreign `Origin` is refused (no cross-site WebSocket); messages are limited
//!   in size and rate; no route writes frames to disk.
//!
//! ```no_run
//! use microcue_app::{ServeOptions, Server};
//! use microcue_vision::Pipeline;
//!
//! let pipeline = Pipeline::load()?; // the models, once per process
//! let options = ServeOptions::new("127.0.0.1".parse()?, 8421, "journal.sqlite3".into());
//! let server = Server::bind(options, pipeline)?;
//! println!("{}", server.url());
//! server.run()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod charts;
pub mod coach;
mod drills;
mod error;
mod frames;
mod journal;
mod journal_page;
mod live;
mod mirror;
pub mod pages;
pub mod protocol;
pub mod render;
mod review;
mod roleplay;
pub mod security;
mod slowmo;

use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use axum::Router;
use axum::routing::{get, post};
use microcue_train::dates::Date;
use microcue_vision::Pipeline;

pub use error::AppError;
use journal::JournalStore;
use security::Access;

/// Port `microcue serve` listens on by default.
pub const DEFAULT_PORT: u16 = 8421;

/// Settings of the server.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to listen on (127.0.0.1 by default).
    pub listen: IpAddr,
    /// Port (0: any free port).
    pub port: u16,
    /// The training journal outcomes are logged to.
    pub journal_path: PathBuf,
    /// "Today" for journal entries (default: the local date when the entry is written).
    pub today: Option<Date>,
}

impl ServeOptions {
    /// Options with the local date as today.
    pub fn new(listen: IpAddr, port: u16, journal_path: PathBuf) -> Self {
        ServeOptions {
            listen,
            port,
            journal_path,
            today: None,
        }
    }
}

/// What every request handler shares: one pipeline, one journal, the access rules.
#[derive(Clone)]
pub(crate) struct AppState {
    pub pipeline: Pipeline,
    pub journal: Arc<JournalStore>,
    pub access: Arc<Access>,
    /// The flash drill in progress and the drills' neutral face.
    pub drills: drills::Drills,
    /// The recording under review (one at a time).
    pub review: Arc<review::ReviewStore>,
    /// The slow-motion study in progress (one at a time).
    pub slowmo: Arc<slowmo::SlowmoStore>,
    /// Set while a live session runs: one camera at a time (inference takes a core).
    pub live_busy: Arc<AtomicBool>,
}

/// A bound server, ready to run.
pub struct Server {
    listener: TcpListener,
    address: SocketAddr,
    state: AppState,
}

impl Server {
    /// Binds the listening socket (so the URL, with a `--port 0` choice, is known before
    /// serving). Listening on any address other than 127.0.0.1 or ::1 makes a random access
    /// token, which [`Server::url`] carries.
    pub fn bind(options: ServeOptions, pipeline: Pipeline) -> Result<Server, AppError> {
        let requested = SocketAddr::new(options.listen, options.port);
        let listener = TcpListener::bind(requested).map_err(|source| AppError::Bind {
            address: requested,
            source,
        })?;
        let address = listener.local_addr().map_err(|source| AppError::Bind {
            address: requested,
            source,
        })?;
        listener
            .set_nonblocking(true)
            .map_err(|source| AppError::Bind { address, source })?;
        let access = Access::for_address(address);
        let state = AppState {
            pipeline,
            journal: Arc::new(JournalStore::new(options.journal_path, options.today)),
            access: Arc::new(access),
            live_busy: Arc::new(AtomicBool::new(false)),
            review: Arc::default(),
            slowmo: Arc::default(),
            drills: Arc::default(),
        };
        Ok(Server {
            listener,
            address,
            state,
        })
    }

    /// The address the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The URL to open (with the token when one is needed).
    pub fn url(&self) -> String {
        self.state.access.url(self.address)
    }

    /// Serves until Ctrl-C (or until the process ends).
    pub fn run(self) -> Result<(), AppError> {
        self.run_until(async {
            // No signal handler means no graceful stop; the process still ends on Ctrl-C.
            let _ = tokio::signal::ctrl_c().await;
        })
    }

    /// Serves until `stop` completes.
    pub fn run_until(
        self,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), AppError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("microcue-serve")
            .enable_all()
            .build()
            .map_err(AppError::Runtime)?;
        let address = self.address;
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(self.listener)
                .map_err(|source| AppError::Bind { address, source })?;
            axum::serve(listener, router(self.state))
                .with_graceful_shutdown(stop)
                .await
                .map_err(AppError::Serve)
        })
    }
}

/// Every route of the app, behind the access checks.
fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::welcome))
        .route("/live", get(pages::live))
        .route("/review", get(review::page))
        .route("/review/open", post(review::open))
        .route("/review/cancel", post(review::cancel))
        .route("/review/status", get(review::status))
        .route("/review/video", get(review::video))
        .route("/review/export/{format}", get(review::export))
        .route("/review/verdict", post(review::verdict))
        .route("/drills", get(drills::page))
        .route("/drills/flash/start", post(drills::start))
        .route("/drills/flash/learned", post(drills::learned))
        .route("/drills/flash/answer", post(drills::answer))
        .route("/drills/flash/picture/{which}", get(drills::picture))
        .route("/drills/slowmo", get(slowmo::page))
        .route("/drills/slowmo/start", post(slowmo::start))
        .route("/drills/slowmo/answer", post(slowmo::answer))
        .route("/drills/slowmo/stop", post(slowmo::stop))
        .route("/drills/mirror", get(mirror::page))
        .route("/drills/roleplay", get(roleplay::page))
        .route("/journal", get(journal_page::page))
        .route("/journal/log", post(journal_page::add_log))
        .route("/journal/plan/start", post(journal_page::start_plan))
        .route("/journal/plan/done", post(journal_page::mark_done))
        .route("/journal/export.json", get(journal_page::export_json))
        .route("/journal/export.csv", get(journal_page::export_csv))
        .route("/journal/import", post(journal_page::import))
        .route("/journal/forget", post(journal_page::forget))
        .route("/assets/{name}", get(pages::asset))
        .route("/ws/live", get(live::upgrade))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security::check,
        ))
        .with_state(state)
}
