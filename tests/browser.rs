//! A real Chromium, headless, driven over WebDriver: Debian's `chromium`
//! and `chromium-driver` (`scripts/setup.sh --dev`), through `fantoccini`
//! over plain HTTP on loopback. [`Browser::start`] starts `chromedriver`
//! on a port it picks itself; each [`Browser::session`] is a browser of
//! its own (its own profile, so its own cookies) at 1280×800;
//! [`screenshot`] keeps a page under `target/portal-screens/`. Dropping
//! the `Browser` ends its sessions and kills chromedriver's whole process
//! group, the browsers it started with it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

/// A running chromedriver and the sessions opened on it.
pub struct Browser {
    driver: Child,
    port: u16,
    sessions: Mutex<Vec<String>>,
}

impl Browser {
    /// Starts chromedriver and waits until it says it is ready.
    pub fn start() -> Browser {
        let mut driver = Command::new("chromedriver")
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            // A group of its own: Drop kills it with every browser.
            .process_group(0)
            .spawn()
            .expect("chromedriver (scripts/setup.sh --dev installs Debian's chromium-driver)");
        let mut lines = BufReader::new(driver.stdout.take().expect("piped"));
        let mut port = None;
        let mut said = String::new();
        let mut line = String::new();
        while port.is_none() && lines.read_line(&mut line).unwrap_or(0) > 0 {
            port = line
                .trim()
                .strip_prefix("ChromeDriver was started successfully on port ")
                .and_then(|p| p.trim_end_matches('.').parse::<u16>().ok());
            said.push_str(&line);
            line.clear();
        }
        // What it says later is read and dropped, so that it never blocks
        // on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut lines, &mut std::io::sink()));
        let browser = Browser {
            driver,
            port: port.unwrap_or_else(|| panic!("chromedriver did not start:\n{said}")),
            sessions: Mutex::new(Vec::new()),
        };
        let status = browser.call("GET", "/status");
        assert!(
            status.contains("\"ready\":true"),
            "chromedriver is not ready: {status}"
        );
        browser
    }

    /// A new headless browser.
    pub async fn session(&self) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--window-size=1280,800",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                ]
            }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a Chromium session");
        if let Ok(Some(id)) = client.session_id().await {
            self.sessions.lock().expect("sessions").push(id);
        }
        client
    }

    /// One plain WebDriver request, for the start and the end, where no
    /// async runtime may be at hand: the answer's body.
    fn call(&self, method: &str, path: &str) -> String {
        let ask = || -> std::io::Result<String> {
            let mut s = TcpStream::connect(("127.0.0.1", self.port))?;
            s.set_read_timeout(Some(Duration::from_secs(20)))?;
            write!(
                s,
                "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )?;
            // chromedriver keeps the connection: the body is as long as
            // its Content-Length says.
            let mut reader = BufReader::new(s);
            let mut length = 0;
            let mut line = String::new();
            while reader.read_line(&mut line)? > 2 {
                let lower = line.to_ascii_lowercase();
                if let Some(n) = lower.strip_prefix("content-length:") {
                    length = n.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body)?;
            Ok(String::from_utf8_lossy(&body).into_owned())
        };
        ask().unwrap_or_else(|e| format!("no answer: {e}"))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Closing a session quits its browser cleanly.
        let sessions = std::mem::take(&mut *self.sessions.lock().expect("sessions"));
        for id in sessions {
            self.call("DELETE", &format!("/session/{id}"));
        }
        let group = -(self.driver.id() as i32);
        // SAFETY: kill(2) with a process group that this Browser started.
        unsafe { libc::kill(group, libc::SIGTERM) };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.driver.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // SAFETY: as above; whatever is left of the group goes now.
        unsafe { libc::kill(group, libc::SIGKILL) };
        let _ = self.driver.wait();
    }
}

/// Keeps what `client` shows as `target/portal-screens/NAME.png`: its path.
pub async fn screenshot(client: &Client, name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .join("portal-screens");
    std::fs::create_dir_all(&dir).expect("screens directory");
    let png = client.screenshot().await.expect("a screenshot");
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, png).expect("write the screenshot");
    path
}

/// Runs `script` (a function body returning a boolean) in the page every
/// 25 ms until it returns true: how long it took, or `None` past `limit`.
pub async fn until(client: &Client, script: &str, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    loop {
        let holds = client
            .execute(script, vec![])
            .await
            .expect("a script in the page");
        if holds == serde_json::Value::Bool(true) {
            return Some(start.elapsed());
        }
        if start.elapsed() > limit {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The text of the element `css`.
pub async fn text(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no `{css}` on the page: {e}"))
        .text()
        .await
        .expect("its text")
}

/// Clicks `css` and accepts the confirm() it opens: the dialog's words.
pub async fn click_and_confirm(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no `{css}` on the page: {e}"))
        .click()
        .await
        .expect("click");
    let words = client.get_alert_text().await.expect("a confirm() dialog");
    client.accept_alert().await.expect("accept the dialog");
    words
}

/// Starts noting in the page when `condition` (a function body returning
/// a boolean) first holds, checked at each change of the page: the time
/// in milliseconds since the epoch, the same clock for every browser of
/// the machine, read back by [`marked`].
pub async fn mark(client: &Client, name: &str, condition: &str) {
    let script = format!(
        "const name = arguments[0];
        window.marks = window.marks || {{}};
        const holds = () => {{ {condition} }};
        const note = () => {{
            if (window.marks[name] === undefined && holds()) {{
                window.marks[name] = performance.timeOrigin + performance.now();
            }}
        }};
        new MutationObserver(note).observe(document.documentElement,
            {{ subtree: true, childList: true, attributes: true, characterData: true }});
        note();"
    );
    client
        .execute(&script, vec![name.into()])
        .await
        .expect("a mark in the page");
}

/// When the page's mark `name` was made, waiting for it up to `limit`.
pub async fn marked(client: &Client, name: &str, limit: Duration) -> Option<f64> {
    let made = format!("return window.marks[{name:?}] !== undefined;");
    until(client, &made, limit).await?;
    let at = client
        .execute("return window.marks[arguments[0]];", vec![name.into()])
        .await
        .expect("the mark");
    at.as_f64()
}

/// When the page's last request to a URL ending in `path` was answered
/// (its response's end, in milliseconds since the epoch).
pub async fn answered(client: &Client, path: &str) -> Option<f64> {
    let at = client
        .execute(
            "return performance.getEntriesByType('resource')
                .filter((e) => e.name.endsWith(arguments[0]))
                .map((e) => performance.timeOrigin + e.responseEnd)
                .pop();",
            vec![path.into()],
        )
        .await
        .expect("the page's requests");
    at.as_f64()
}
