use crate::demo::DemoError;
use teamline_engine::EngineError;
use teamline_store::StoreError;

/// Why a test stack could not be built or run.
#[derive(Debug, thiserror::Error)]
pub enum TestkitError {
    #[error("a simulator did not start: {0}")]
    Simulator(String),
    #[error("the Microsoft client could not be set up: {0}")]
    Microsoft(String),
    #[error("the portal could not listen or serve: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Demo(#[from] DemoError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("the test stack could not be set up: {0}")]
    Setup(String),
}
