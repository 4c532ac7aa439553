//! One PostgreSQL connection that speaks the protocol itself, for the event loop: a
//! blocking start-up (connect, authenticate, prepare), then a non-blocking socket on
//! which inserts are pipelined — each unit of work is one `Bind`/`Execute` (one row, or
//! a group as two arrays) and one `Sync`, so a unit is one implicit transaction,
//! committed when its `ReadyForQuery` arrives — and answers are matched to units in
//! order (FIFO).
//!
//! Messages are encoded and decoded with the `postgres-protocol` crate (the one
//! `tokio-postgres` is built on), authentication included (cleartext, MD5,
//! SCRAM-SHA-256); nothing of the wire format is written by hand here.

use std::collections::VecDeque;
use std::io::{self, ErrorKind, Read, Write};
use std::net::ToSocketAddrs;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use fallible_iterator::FallibleIterator;
use postgres_protocol::authentication::sasl::{ChannelBinding, ScramSha256, SCRAM_SHA_256};
use postgres_protocol::message::{backend, frontend};
use postgres_protocol::types::{array_to_sql, ArrayDimension};
use postgres_protocol::IsNull;
use tokio_postgres::config::Host;
use tokio_postgres::Config;

use super::super::db::{from_sqlstate, DbError, NewTask, Task, COLUMNS};
use crate::service::Ticket;

/// The prepared one-row insert's name on every connection.
const INSERT: &str = "i";
/// The prepared many-row insert's name: two `text[]` parameters, one statement for a
/// whole group (the synchronous client's statement too).
const INSERT_GROUP: &str = "g";
/// `text`, the type of the one-row insert's parameters.
const TEXT_OID: u32 = 25;
/// `text[]`, the type of the group insert's parameters.
const TEXT_ARRAY_OID: u32 = 1009;
/// Bytes asked of the kernel per `read`.
const CHUNK: usize = 64 * 1024;

/// The socket of a connection: TCP or a Unix socket (the private cluster's).
#[derive(Debug)]
pub(crate) enum Socket {
    /// `host=name` or an address.
    Tcp(mio::net::TcpStream),
    /// `host=/dir`: the server's socket in that directory.
    Unix(mio::net::UnixStream),
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.read(buf),
            Socket::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.write(buf),
            Socket::Unix(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl mio::event::Source for Socket {
    fn register(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.register(registry, token, interests),
            Socket::Unix(s) => s.register(registry, token, interests),
        }
    }
    fn reregister(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.reregister(registry, token, interests),
            Socket::Unix(s) => s.reregister(registry, token, interests),
        }
    }
    fn deregister(&mut self, registry: &mio::Registry) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.deregister(registry),
            Socket::Unix(s) => s.deregister(registry),
        }
    }
}

/// A blocking stream during start-up.
enum Blocking {
    Tcp(std::net::TcpStream),
    Unix(std::os::unix::net::UnixStream),
}

impl Blocking {
    fn stream(&mut self) -> &mut dyn ReadWrite {
        match self {
            Blocking::Tcp(s) => s,
            Blocking::Unix(s) => s,
        }
    }

    fn set_timeouts(&self, timeout: Duration) -> io::Result<()> {
        match self {
            Blocking::Tcp(s) => {
                s.set_read_timeout(Some(timeout))?;
                s.set_write_timeout(Some(timeout))?;
                s.set_nodelay(true)
            }
            Blocking::Unix(s) => {
                s.set_read_timeout(Some(timeout))?;
                s.set_write_timeout(Some(timeout))
            }
        }
    }

    fn into_socket(self) -> io::Result<Socket> {
        Ok(match self {
            Blocking::Tcp(s) => {
                s.set_nonblocking(true)?;
                Socket::Tcp(mio::net::TcpStream::from_std(s))
            }
            Blocking::Unix(s) => {
                s.set_nonblocking(true)?;
                Socket::Unix(mio::net::UnixStream::from_std(s))
            }
        })
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// One unit of work in flight: its rows, committed together at its `Sync`.
#[derive(Debug)]
pub(crate) struct Unit {
    /// Whose answers these are, in row order.
    pub tickets: Vec<Ticket>,
    /// The rows, kept to retry them one by one if the group fails.
    pub tasks: Vec<NewTask>,
    /// When it was written (for the per-job deadline).
    pub sent: Instant,
}

/// A unit whose `ReadyForQuery` arrived: every row committed, or why not.
#[derive(Debug)]
pub(crate) struct Finished {
    /// The unit.
    pub unit: Unit,
    /// The stored rows in order, or the error that rolled the unit back.
    pub result: Result<Vec<Task>, DbError>,
}

/// A started connection with its pipeline.
#[derive(Debug)]
pub(crate) struct PgConn {
    /// The non-blocking socket.
    pub socket: Socket,
    out: BytesMut,
    input: BytesMut,
    units: VecDeque<Unit>,
    /// Rows and the first error of the unit at the front, as they arrive.
    rows: Vec<Task>,
    error: Option<DbError>,
    /// Reused for every `read` (a fresh zeroed chunk per read cost 7 % of the loop).
    scratch: Vec<u8>,
}

/// Connects, authenticates and prepares the insert, blocking for at most `timeout` per
/// step; the socket is non-blocking afterwards.
pub(crate) fn connect(config: &Config, timeout: Duration) -> Result<PgConn, DbError> {
    let mut stream = open(config, timeout)?;
    stream
        .set_timeouts(timeout)
        .map_err(|e| unavailable("cannot set socket timeouts", &e))?;
    let mut input = BytesMut::with_capacity(CHUNK);
    let mut handshake = Handshake::start(config)?;
    loop {
        send(stream.stream(), &mut handshake.out)?;
        let message = next_message(stream.stream(), &mut input)?;
        if handshake.on_message(message)? {
            break;
        }
    }
    let socket = stream
        .into_socket()
        .map_err(|e| unavailable("cannot make the socket non-blocking", &e))?;
    Ok(PgConn::new(socket, input))
}

fn unavailable(what: &str, e: &io::Error) -> DbError {
    DbError::Unavailable(format!("{what}: {e}"))
}

/// The first host of the configuration that accepts a connection.
fn open(config: &Config, timeout: Duration) -> Result<Blocking, DbError> {
    let ports = config.get_ports();
    let mut last = DbError::Unavailable("no host in the database URL".into());
    for (i, host) in config.get_hosts().iter().enumerate() {
        let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
        let attempt = match host {
            Host::Unix(dir) => {
                let path = dir.join(format!(".s.PGSQL.{port}"));
                std::os::unix::net::UnixStream::connect(&path)
                    .map(Blocking::Unix)
                    .map_err(|e| unavailable(&format!("cannot connect to {}", path.display()), &e))
            }
            Host::Tcp(name) => tcp(name, port, timeout).map(Blocking::Tcp),
        };
        match attempt {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn tcp(name: &str, port: u16, timeout: Duration) -> Result<std::net::TcpStream, DbError> {
    let addrs = (name, port)
        .to_socket_addrs()
        .map_err(|e| unavailable(&format!("cannot resolve {name}"), &e))?;
    let mut last = DbError::Unavailable(format!("{name} has no address"));
    for addr in addrs {
        match std::net::TcpStream::connect_timeout(&addr, timeout) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = unavailable(&format!("cannot connect to {addr}"), &e),
        }
    }
    Err(last)
}

/// Reads until one whole backend message is buffered, and parses it.
fn next_message(
    stream: &mut dyn ReadWrite,
    input: &mut BytesMut,
) -> Result<backend::Message, DbError> {
    loop {
        match backend::Message::parse(input) {
            Ok(Some(message)) => return Ok(message),
            Ok(None) => {}
            Err(e) => return Err(unavailable("malformed message from the server", &e)),
        }
        let mut chunk = [0u8; 8192];
        match stream.read(&mut chunk) {
            Ok(0) => {
                return Err(DbError::Unavailable(
                    "the server closed the connection".into(),
                ))
            }
            Ok(n) => input.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(unavailable("no answer from the server", &e)),
        }
    }
}

fn send(stream: &mut dyn ReadWrite, buf: &mut BytesMut) -> Result<(), DbError> {
    stream
        .write_all(buf)
        .map_err(|e| unavailable("cannot write to the server", &e))?;
    buf.clear();
    Ok(())
}

fn encode_error(e: &io::Error) -> DbError {
    DbError::Query(format!("cannot encode a message: {e}"))
}

/// The server's error as a [`DbError`] (`at_startup`: a refusal is configuration).
fn server_error(body: &backend::ErrorResponseBody, at_startup: bool) -> DbError {
    let (mut code, mut message) = (String::new(), String::new());
    let mut fields = body.fields();
    while let Ok(Some(field)) = fields.next() {
        match field.type_() {
            b'C' => code = String::from_utf8_lossy(field.value_bytes()).into_owned(),
            b'M' => message = String::from_utf8_lossy(field.value_bytes()).into_owned(),
            _ => {}
        }
    }
    from_sqlstate(&code, &message, at_startup)
}

/// The start-up exchange as a state machine — start-up message, authentication,
/// preparing the statements — fed one backend message at a time, whatever moves the
/// bytes: the blocking start-up at boot, or the event loop while reconnecting.
pub(crate) struct Handshake {
    user: String,
    password: Vec<u8>,
    /// Messages to send, in order.
    pub(crate) out: BytesMut,
    scram: Option<ScramSha256>,
    preparing: bool,
    failed: Option<DbError>,
}

impl Handshake {
    /// A handshake for `config`, its start-up message already in [`Handshake::out`].
    pub(crate) fn start(config: &Config) -> Result<Handshake, DbError> {
        let user = config.get_user().unwrap_or("postgres").to_owned();
        let dbname = config.get_dbname().unwrap_or(&user).to_owned();
        let mut out = BytesMut::new();
        let params = [
            ("user", user.as_str()),
            ("database", dbname.as_str()),
            ("client_encoding", "UTF8"),
            ("application_name", "prefork-evented"),
        ];
        frontend::startup_message(params.iter().copied(), &mut out)
            .map_err(|e| encode_error(&e))?;
        Ok(Handshake {
            user,
            password: config.get_password().unwrap_or_default().to_vec(),
            out,
            scram: None,
            preparing: false,
            failed: None,
        })
    }

    /// Takes one message; `Ok(true)` once the connection is ready for inserts.
    pub(crate) fn on_message(&mut self, message: backend::Message) -> Result<bool, DbError> {
        let out = &mut self.out;
        match message {
            backend::Message::AuthenticationOk => {}
            backend::Message::AuthenticationCleartextPassword => {
                frontend::password_message(&self.password, out).map_err(|e| encode_error(&e))?;
            }
            backend::Message::AuthenticationMd5Password(body) => {
                let hash = postgres_protocol::authentication::md5_hash(
                    self.user.as_bytes(),
                    &self.password,
                    body.salt(),
                );
                frontend::password_message(hash.as_bytes(), out).map_err(|e| encode_error(&e))?;
            }
            backend::Message::AuthenticationSasl(body) => {
                let mut mechanisms = body.mechanisms();
                let mut offered = false;
                while let Ok(Some(mechanism)) = mechanisms.next() {
                    offered |= mechanism == SCRAM_SHA_256;
                }
                if !offered {
                    return Err(DbError::Refused(
                        "the server offers no SASL mechanism this client supports".into(),
                    ));
                }
                let state = ScramSha256::new(&self.password, ChannelBinding::unsupported());
                frontend::sasl_initial_response(SCRAM_SHA_256, state.message(), out)
                    .map_err(|e| encode_error(&e))?;
                self.scram = Some(state);
            }
            backend::Message::AuthenticationSaslContinue(body) => {
                let state = self
                    .scram
                    .as_mut()
                    .ok_or_else(|| protocol("SASL continue"))?;
                state
                    .update(body.data())
                    .map_err(|e| DbError::Refused(format!("SCRAM authentication failed: {e}")))?;
                frontend::sasl_response(state.message(), out).map_err(|e| encode_error(&e))?;
            }
            backend::Message::AuthenticationSaslFinal(body) => {
                let state = self.scram.as_mut().ok_or_else(|| protocol("SASL final"))?;
                state
                    .finish(body.data())
                    .map_err(|e| DbError::Refused(format!("SCRAM authentication failed: {e}")))?;
            }
            backend::Message::ErrorResponse(body) if self.preparing => {
                // A missing table shows here; the answer ends at the `ReadyForQuery`.
                self.failed.get_or_insert(server_error(&body, true));
            }
            backend::Message::ErrorResponse(body) => return Err(server_error(&body, true)),
            backend::Message::ReadyForQuery(_) if self.preparing => {
                return self.failed.take().map_or(Ok(true), Err);
            }
            backend::Message::ReadyForQuery(_) => {
                prepare(out)?;
                self.preparing = true;
            }
            // ParameterStatus, BackendKeyData, NoticeResponse, ParseComplete.
            _ => {}
        }
        Ok(false)
    }
}

fn protocol(what: &str) -> DbError {
    DbError::Unavailable(format!("unexpected {what} message from the server"))
}

/// Prepares the one-row and the group insert, then `Sync`.
fn prepare(out: &mut BytesMut) -> Result<(), DbError> {
    let sql = format!("INSERT INTO task (title, description) VALUES ($1, $2) RETURNING {COLUMNS}");
    frontend::parse(INSERT, &sql, [TEXT_OID, TEXT_OID], out).map_err(|e| encode_error(&e))?;
    // ORDER BY n makes the ids (and the returned rows) follow the input order.
    let group = format!(
        "INSERT INTO task (title, description) \
         SELECT t, d FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(t, d, n) \
         ORDER BY n RETURNING {COLUMNS}"
    );
    frontend::parse(INSERT_GROUP, &group, [TEXT_ARRAY_OID, TEXT_ARRAY_OID], out)
        .map_err(|e| encode_error(&e))?;
    frontend::sync(out);
    Ok(())
}

/// A connection being set up from the event loop: non-blocking socket, handshake driven
/// by readiness ([`Connecting::advance`]).
pub(crate) struct Connecting {
    /// The socket, registered in the loop's poll.
    pub(crate) socket: Socket,
    handshake: Handshake,
    input: BytesMut,
    /// When the attempt started (it is abandoned past the connect timeout).
    pub(crate) started: Instant,
}

/// Starts connecting without blocking: a Unix socket's connect is local and immediate;
/// a TCP connect completes in the background (a host name is resolved first, which may
/// block — give an address to avoid it).
pub(crate) fn connect_nonblocking(config: &Config) -> Result<Connecting, DbError> {
    let ports = config.get_ports();
    let mut last = DbError::Unavailable("no host in the database URL".into());
    for (i, host) in config.get_hosts().iter().enumerate() {
        let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
        let attempt = match host {
            Host::Unix(dir) => {
                let path = dir.join(format!(".s.PGSQL.{port}"));
                mio::net::UnixStream::connect(&path)
                    .map(Socket::Unix)
                    .map_err(|e| unavailable(&format!("cannot connect to {}", path.display()), &e))
            }
            Host::Tcp(name) => (name.as_str(), port)
                .to_socket_addrs()
                .map_err(|e| unavailable(&format!("cannot resolve {name}"), &e))
                .and_then(|mut addrs| {
                    let addr = addrs
                        .next()
                        .ok_or_else(|| DbError::Unavailable(format!("{name} has no address")))?;
                    mio::net::TcpStream::connect(addr)
                        .map(Socket::Tcp)
                        .map_err(|e| unavailable(&format!("cannot connect to {addr}"), &e))
                }),
        };
        match attempt {
            Ok(socket) => {
                return Ok(Connecting {
                    socket,
                    handshake: Handshake::start(config)?,
                    input: BytesMut::with_capacity(CHUNK),
                    started: Instant::now(),
                })
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

impl Connecting {
    /// Moves the handshake on with what the socket allows; `Ok(true)` once the
    /// connection is ready ([`Connecting::finish`]).
    pub(crate) fn advance(&mut self) -> Result<bool, DbError> {
        loop {
            while !self.handshake.out.is_empty() {
                match self.socket.write(&self.handshake.out) {
                    Ok(0) => return Err(DbError::Unavailable("the server stopped reading".into())),
                    Ok(n) => {
                        let _ = self.handshake.out.split_to(n);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::NotConnected => return Ok(false),
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Err(unavailable("cannot write to the server", &e)),
                }
            }
            match backend::Message::parse(&mut self.input) {
                Ok(Some(message)) => {
                    if self.handshake.on_message(message)? {
                        return Ok(true);
                    }
                    continue;
                }
                Ok(None) => {}
                Err(e) => return Err(unavailable("malformed message from the server", &e)),
            }
            let mut chunk = [0u8; 8192];
            match self.socket.read(&mut chunk) {
                Ok(0) => {
                    return Err(DbError::Unavailable(
                        "the server closed the connection".into(),
                    ))
                }
                Ok(n) => self.input.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == ErrorKind::NotConnected => return Ok(false),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(unavailable("cannot read from the server", &e)),
            }
        }
    }

    /// The ready connection (after [`Connecting::advance`] said so).
    pub(crate) fn finish(self) -> PgConn {
        PgConn::new(self.socket, self.input)
    }
}

impl PgConn {
    fn new(socket: Socket, input: BytesMut) -> PgConn {
        PgConn {
            socket,
            out: BytesMut::with_capacity(CHUNK),
            input,
            units: VecDeque::new(),
            rows: Vec::new(),
            error: None,
            scratch: vec![0; CHUNK],
        }
    }

    /// Units written and not answered yet.
    pub(crate) fn in_flight(&self) -> usize {
        self.units.len()
    }

    /// When the oldest unit in flight was written.
    pub(crate) fn oldest(&self) -> Option<Instant> {
        self.units.front().map(|u| u.sent)
    }

    /// Queues `tasks` as one unit — one implicit transaction: `Bind`/`Execute` of the
    /// one-row insert, or of the group insert with the rows as two arrays, then `Sync`.
    /// Nothing is written yet: [`PgConn::flush`] sends every unit queued in a loop
    /// iteration in one write.
    pub(crate) fn submit(
        &mut self,
        tickets: Vec<Ticket>,
        tasks: Vec<NewTask>,
    ) -> Result<(), (Unit, DbError)> {
        let unit = Unit {
            tickets,
            tasks,
            sent: Instant::now(),
        };
        let bound = match unit.tasks.as_slice() {
            [task] => frontend::bind(
                "",
                INSERT,
                [0i16, 0],
                [task.title.as_bytes(), task.description.as_bytes()],
                |value, out| {
                    out.extend_from_slice(value);
                    Ok(IsNull::No)
                },
                [0i16],
                &mut self.out,
            ),
            tasks => frontend::bind(
                "",
                INSERT_GROUP,
                [1i16, 1],
                [true, false],
                |titles, out| {
                    let column = tasks
                        .iter()
                        .map(|t| if titles { &t.title } else { &t.description });
                    let len = i32::try_from(tasks.len()).map_err(|_| "group too large")?;
                    let dimension = ArrayDimension {
                        len,
                        lower_bound: 1,
                    };
                    array_to_sql(
                        [dimension],
                        TEXT_OID,
                        column,
                        |text, out| {
                            out.extend_from_slice(text.as_bytes());
                            Ok(IsNull::No)
                        },
                        out,
                    )?;
                    Ok(IsNull::No)
                },
                [0i16],
                &mut self.out,
            ),
        };
        if bound.is_err() {
            return Err((unit, DbError::Query("cannot encode the insert".into())));
        }
        if let Err(e) = frontend::execute("", 0, &mut self.out) {
            return Err((unit, encode_error(&e)));
        }
        frontend::sync(&mut self.out);
        self.units.push_back(unit);
        Ok(())
    }

    /// Writes buffered messages until done or the socket is full; an error means the
    /// connection is broken.
    pub(crate) fn flush(&mut self) -> Result<(), DbError> {
        while !self.out.is_empty() {
            match self.socket.write(&self.out) {
                Ok(0) => return Err(DbError::Unavailable("the server stopped reading".into())),
                Ok(n) => {
                    let _ = self.out.split_to(n);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(unavailable("cannot write to the server", &e)),
            }
        }
        Ok(())
    }

    /// Reads what arrived and appends the units it finished to `finished`, in order; an
    /// error means the connection is broken (its units still in flight are lost: see
    /// [`PgConn::take_units`]).
    pub(crate) fn read_ready(&mut self, finished: &mut Vec<Finished>) -> Result<(), DbError> {
        loop {
            match self.socket.read(&mut self.scratch) {
                Ok(0) => {
                    self.parse(finished)?;
                    return Err(DbError::Unavailable(
                        "the server closed the connection".into(),
                    ));
                }
                Ok(n) => self.input.extend_from_slice(&self.scratch[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(unavailable("cannot read from the server", &e)),
            }
        }
        self.parse(finished)?;
        self.flush()
    }

    /// Parses every whole message buffered.
    fn parse(&mut self, finished: &mut Vec<Finished>) -> Result<(), DbError> {
        loop {
            let message = match backend::Message::parse(&mut self.input) {
                Ok(Some(message)) => message,
                Ok(None) => return Ok(()),
                Err(e) => return Err(unavailable("malformed message from the server", &e)),
            };
            match message {
                backend::Message::DataRow(body) => match task_of(&body) {
                    Ok(task) => self.rows.push(task),
                    Err(e) => {
                        self.error.get_or_insert(e);
                    }
                },
                backend::Message::ErrorResponse(body) => {
                    let err = server_error(&body, false);
                    self.error.get_or_insert(err);
                }
                backend::Message::ReadyForQuery(_) => {
                    let unit = self
                        .units
                        .pop_front()
                        .ok_or_else(|| protocol("ReadyForQuery"))?;
                    let rows = std::mem::take(&mut self.rows);
                    let result = match self.error.take() {
                        Some(err) => Err(err),
                        None if rows.len() == unit.tasks.len() => Ok(rows),
                        None => Err(DbError::Query(
                            "the server returned fewer rows than inserted".into(),
                        )),
                    };
                    finished.push(Finished { unit, result });
                }
                // BindComplete, CommandComplete, NoticeResponse, ParameterStatus.
                _ => {}
            }
        }
    }

    /// The units still in flight (on a broken connection: each answered 503).
    pub(crate) fn take_units(&mut self) -> Vec<Unit> {
        self.rows.clear();
        self.error = None;
        self.units.drain(..).collect()
    }
}

/// A `RETURNING` row (text format) as a [`Task`].
fn task_of(body: &backend::DataRowBody) -> Result<Task, DbError> {
    let buf = body.buffer();
    let mut ranges = body.ranges();
    let mut column = || -> Result<&str, DbError> {
        let range = ranges
            .next()
            .ok()
            .flatten()
            .flatten()
            .ok_or_else(|| DbError::Query("a returned column is missing or NULL".into()))?;
        std::str::from_utf8(&buf[range])
            .map_err(|_| DbError::Query("a returned column is not UTF-8".into()))
    };
    let id = column()?
        .parse()
        .map_err(|_| DbError::Query("the returned id is not an integer".into()))?;
    Ok(Task {
        id,
        title: column()?.to_owned(),
        description: column()?.to_owned(),
        created_at: column()?.to_owned(),
    })
}
