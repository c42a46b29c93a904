//! A throwaway PostgreSQL cluster of a test's own: `initdb` in a temp dir,
//! `pg_ctl start` on a free port on 127.0.0.1 (and a Unix socket in the same
//! temp dir), trust authentication, superuser `postgres`. Dropping it stops
//! the server (`-m immediate`) and removes the directory. The machine's own
//! PostgreSQL is never touched.
//!
//! initdb refuses to run as root: as root, every PostgreSQL program runs as
//! the `postgres` user (`runuser`), and the temp dir is handed to that user.
//!
//! Include it with `#[path = "common/cluster.rs"] mod cluster;`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

/// The directory of `initdb`, `pg_ctl` and friends: `pg_config --bindir`,
/// else the newest `/usr/lib/postgresql/*/bin` (Debian keeps them off the
/// PATH). An error says what was looked for.
pub fn bindir() -> Result<PathBuf, String> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has_tools(&dir) {
            return Ok(dir);
        }
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let dir = entry.path().join("bin");
            has_tools(&dir).then_some((version, dir))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, dir)| dir).ok_or_else(|| {
        "no initdb/pg_ctl found: neither `pg_config --bindir` nor /usr/lib/postgresql/*/bin \
         has them (install PostgreSQL's server package)"
            .to_owned()
    })
}

/// A port nobody listens on right now on 127.0.0.1.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding a free port");
    listener.local_addr().expect("its address").port()
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// One cluster. Fields are public so that a test can reach past the helpers
/// (e.g. `pg_basebackup` into another `Cluster`'s directory for a standby).
pub struct Cluster {
    pub bindir: PathBuf,
    /// The temp dir: holds `data/`, the log and the Unix socket.
    pub dir: TempDir,
    pub data: PathBuf,
    pub port: u16,
    /// `Some("postgres")` when the programs run as another user (as root).
    pub run_as: Option<String>,
    running: bool,
}

impl Cluster {
    /// `initdb` a new cluster that will listen on 127.0.0.1 on a free port.
    /// Not started yet: add settings and files first, then [`Cluster::start`].
    /// Panics (fails the test) when PostgreSQL's programs are missing.
    pub fn init() -> Cluster {
        let bindir = bindir().unwrap_or_else(|e| panic!("{e}"));
        let dir = tempfile::Builder::new()
            .prefix("beckon-pg-")
            .tempdir()
            .expect("creating the cluster's temp dir");
        let run_as = running_as_root().then(|| "postgres".to_owned());
        if let Some(user) = &run_as {
            let status = Command::new("chown")
                .arg(format!("{user}:"))
                .arg(dir.path())
                .status()
                .expect("running chown");
            assert!(status.success(), "chown {user} {}", dir.path().display());
        }
        let data = dir.path().join("data");
        let cluster = Cluster {
            bindir,
            data,
            port: free_port(),
            run_as,
            dir,
            running: false,
        };
        cluster.run_ok(
            "initdb",
            &[
                "-D",
                path_str(&cluster.data),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ],
        );
        let socket_dir = path_str(cluster.dir.path()).to_owned();
        cluster.append_conf(&format!(
            "listen_addresses = '127.0.0.1'\n\
             port = {}\n\
             unix_socket_directories = '{socket_dir}'\n\
             fsync = off\n\
             max_connections = 30\n",
            cluster.port
        ));
        cluster
    }

    /// A streaming standby of `primary` (which must be running): a
    /// `pg_basebackup -R` of it into a new temp dir, listening on a free
    /// port of its own. Not started yet.
    pub fn standby_of(primary: &Cluster) -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("beckon-pg-standby-")
            .tempdir()
            .expect("creating the standby's temp dir");
        if let Some(user) = &primary.run_as {
            let status = Command::new("chown")
                .arg(format!("{user}:"))
                .arg(dir.path())
                .status()
                .expect("running chown");
            assert!(status.success(), "chown {user} {}", dir.path().display());
        }
        let standby = Cluster {
            bindir: primary.bindir.clone(),
            data: dir.path().join("data"),
            port: free_port(),
            run_as: primary.run_as.clone(),
            dir,
            running: false,
        };
        let port = primary.port.to_string();
        standby.run_ok(
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-D",
                path_str(&standby.data),
                "-R",
                "-X",
                "stream",
                "--no-sync",
            ],
        );
        let socket_dir = path_str(standby.dir.path()).to_owned();
        standby.append_conf(&format!(
            "port = {}\n\
             unix_socket_directories = '{socket_dir}'\n\
             hot_standby = on\n",
            standby.port
        ));
        standby
    }

    /// `pg_ctl promote`: a standby becomes a primary (waits until it is).
    pub fn promote(&self) {
        self.run_ok("pg_ctl", &["-D", path_str(&self.data), "-w", "promote"]);
    }

    /// `pg_ctl reload`: settings appended since the start take effect.
    pub fn reload(&self) {
        self.run_ok("pg_ctl", &["-D", path_str(&self.data), "reload"]);
    }

    /// Runs one of PostgreSQL's programs (as the cluster's user) and returns
    /// its output, whatever its exit status.
    pub fn run(&self, program: &str, args: &[&str]) -> Output {
        let bin = self.bindir.join(program);
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut cmd = Command::new("runuser");
                cmd.args(["-u", user, "--"]).arg(&bin);
                cmd
            }
            None => Command::new(&bin),
        };
        cmd.args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", bin.display()))
    }

    /// [`Cluster::run`], failing the test (with its output and the server
    /// log) unless it succeeds.
    pub fn run_ok(&self, program: &str, args: &[&str]) -> Output {
        let out = self.run(program, args);
        assert!(
            out.status.success(),
            "{program} {args:?} failed ({}):\n{}{}\nserver log:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        out
    }

    /// Writes a file in the data directory, owned by the cluster's user,
    /// readable by it alone (as PostgreSQL wants a private key).
    pub fn write_data_file(&self, name: &str, contents: &[u8]) -> PathBuf {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let path = self.data.join(name);
        std::fs::write(&path, contents).expect("writing a data file");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
        let owner = std::fs::metadata(&self.data).expect("the data dir");
        std::os::unix::fs::chown(&path, Some(owner.uid()), Some(owner.gid()))
            .expect("handing the file to the cluster's user");
        path
    }

    /// Appends lines to `postgresql.conf` (later settings win).
    pub fn append_conf(&self, lines: &str) {
        use std::io::Write;
        let mut conf = std::fs::OpenOptions::new()
            .append(true)
            .open(self.data.join("postgresql.conf"))
            .expect("opening postgresql.conf");
        writeln!(conf, "\n{lines}").expect("writing postgresql.conf");
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    /// The server log so far (empty before the first start).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start(&mut self) {
        let log = self.log_path();
        self.run_ok(
            "pg_ctl",
            &[
                "-D",
                path_str(&self.data),
                "-l",
                path_str(&log),
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
        self.running = true;
    }

    /// Stops the server at once (no checkpoint: nothing here needs one).
    pub fn stop(&mut self) {
        if self.running {
            self.run(
                "pg_ctl",
                &["-D", path_str(&self.data), "-m", "immediate", "-w", "stop"],
            );
            self.running = false;
        }
    }

    /// `postgres://postgres@HOST:PORT/postgres?QUERY`.
    pub fn url(&self, host: &str, query: &str) -> String {
        format!("postgres://postgres@{host}:{}/postgres?{query}", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
        // `dir` (a TempDir) then removes everything.
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temp path")
}
