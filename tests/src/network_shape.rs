//! A shaped network link on loopback: a TCP proxy that makes the path between
//! a phone and the server behave like a poor mobile connection (a basement, a
//! village): a round trip, a bandwidth limit in each direction, lost segments
//! and connections cut at random, all drawn from one seed so that a failing run
//! can be replayed.
//!
//! The model, and what it leaves out:
//! * **Delay.** Each direction delays every byte by half the round trip. A new
//!   connection first costs one round trip (the TCP handshake) before its
//!   first byte leaves; a lost SYN (at the loss rate) costs the initial
//!   retransmission timeout of 1 s more (RFC 6298).
//! * **Bandwidth.** Each direction is a serial link: a segment leaves when the
//!   previous one has left, after `bytes × 8 / bits_per_second` (a token
//!   bucket one segment deep). Slow start is not modelled: at 384 kbit/s and
//!   300 ms the path holds about ten segments, TCP's initial window.
//! * **Loss.** A userspace proxy sees a byte stream, not packets, so it cannot
//!   drop a segment; it models what a drop costs TCP instead. The stream is cut
//!   into segments of at most [`SEGMENT_BYTES`]; each is lost with the loss
//!   probability (loss points fall on byte offsets, so the schedule does not
//!   depend on how reads happen to split the stream). A lost segment is sent
//!   again: it occupies the link twice, and it arrives one retransmission
//!   timeout (`max(200 ms, 2 × round trip)`) late, holding back every later
//!   segment behind it (TCP delivers in order). Real TCP often recovers faster
//!   by fast retransmit (after three duplicate acknowledgements, about one
//!   round trip), so this is the pessimistic side. Lost acknowledgements,
//!   the window halving after a loss and the sender's window itself are not
//!   modelled: segments after a lost one keep leaving at the link's rate and
//!   wait at the receiver, so a loss inside a long upload costs little time,
//!   while a loss in a short request, or in the last segments of a chunk,
//!   costs the whole timeout.
//! * **Cuts.** Each direction of each connection is cut after a random number
//!   of bytes (exponential, with the given mean): the bytes before the cut are
//!   delivered, then both sockets are shut, wherever the stream is — inside a
//!   request, a response or an attachment chunk. The phone sees the connection
//!   close mid-message. A cut that leaves the connection silent (the phone
//!   waiting for its own timeout) is not modelled.
//!
//! Every decision is drawn from a generator seeded by the link's seed and the
//! connection's number (connections are numbered in the order they are
//! accepted, which for one phone syncing is the order of its requests), so the
//! same seed and the same traffic give the same losses and cuts. Only loopback
//! addresses are used; dropping the link stops it.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The largest TCP segment the model sends (an Ethernet MSS).
pub const SEGMENT_BYTES: usize = 1_460;

/// The initial retransmission timeout, which a lost SYN costs (RFC 6298).
const SYN_TIMEOUT: Duration = Duration::from_secs(1);

/// The smallest retransmission timeout (Linux's floor).
const MIN_RETRANSMISSION_TIMEOUT: Duration = Duration::from_millis(200);

/// How a link behaves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NetworkShape {
    /// The round trip: each direction delays by half of it.
    pub round_trip: Duration,
    /// The bandwidth of each direction, in bits per second; `None` for no limit.
    pub bits_per_second: Option<u64>,
    /// The probability that a segment is lost, from 0 to 1.
    pub segment_loss: f64,
    /// The mean number of bytes a direction of a connection carries before it
    /// is cut; `None` for no cuts.
    pub mean_bytes_between_cuts: Option<u64>,
}

impl NetworkShape {
    /// A village or a basement: 300 ms round trip, 384 kbit/s each way, 5 %
    /// of segments lost, and a connection cut on average every 512 KiB in
    /// each direction (about 11 s of busy upload).
    pub fn village() -> NetworkShape {
        NetworkShape {
            round_trip: Duration::from_millis(300),
            bits_per_second: Some(384_000),
            segment_loss: 0.05,
            mean_bytes_between_cuts: Some(512 * 1024),
        }
    }

    /// Loopback as it is: no delay, no limit, no loss, no cuts (the baseline
    /// of a measurement, through the same counting proxy).
    pub fn unshaped() -> NetworkShape {
        NetworkShape {
            round_trip: Duration::ZERO,
            bits_per_second: None,
            segment_loss: 0.0,
            mean_bytes_between_cuts: None,
        }
    }

    /// The retransmission timeout a lost segment costs: `max(200 ms, 2 × round trip)`.
    pub fn retransmission_timeout(&self) -> Duration {
        MIN_RETRANSMISSION_TIMEOUT.max(self.round_trip * 2)
    }

    /// How long `bytes` occupy one direction of the link.
    fn transmission(&self, bytes: usize) -> Duration {
        match self.bits_per_second {
            Some(bps) if bps > 0 => {
                Duration::from_nanos((bytes as u64 * 8).saturating_mul(1_000_000_000) / bps)
            }
            _ => Duration::ZERO,
        }
    }
}

/// What went through a link so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkTally {
    /// Connections accepted.
    pub connections: u64,
    /// Bytes delivered from the phone to the server (TCP payload).
    pub bytes_up: u64,
    /// Bytes delivered from the server to the phone (TCP payload).
    pub bytes_down: u64,
    /// Bytes sent a second time after a modelled loss, phone to server.
    pub retransmitted_up: u64,
    /// Bytes sent a second time after a modelled loss, server to phone.
    pub retransmitted_down: u64,
    /// Segments carried, both directions.
    pub segments: u64,
    /// Segments lost (and sent again), both directions, SYNs included.
    pub lost_segments: u64,
    /// Connections cut while the phone was sending.
    pub cuts_up: u64,
    /// Connections cut while the server was answering.
    pub cuts_down: u64,
}

impl LinkTally {
    /// Bytes on the wire in both directions: delivered and retransmitted.
    pub fn wire_bytes(&self) -> u64 {
        self.bytes_up + self.bytes_down + self.retransmitted_up + self.retransmitted_down
    }

    /// Connections cut, either way.
    pub fn cuts(&self) -> u64 {
        self.cuts_up + self.cuts_down
    }

    /// What went through after `earlier`, a tally of the same link.
    pub fn since(&self, earlier: &LinkTally) -> LinkTally {
        LinkTally {
            connections: self.connections - earlier.connections,
            bytes_up: self.bytes_up - earlier.bytes_up,
            bytes_down: self.bytes_down - earlier.bytes_down,
            retransmitted_up: self.retransmitted_up - earlier.retransmitted_up,
            retransmitted_down: self.retransmitted_down - earlier.retransmitted_down,
            segments: self.segments - earlier.segments,
            lost_segments: self.lost_segments - earlier.lost_segments,
            cuts_up: self.cuts_up - earlier.cuts_up,
            cuts_down: self.cuts_down - earlier.cuts_down,
        }
    }
}

#[derive(Default)]
struct Counters {
    connections: AtomicU64,
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
    retransmitted_up: AtomicU64,
    retransmitted_down: AtomicU64,
    segments: AtomicU64,
    lost_segments: AtomicU64,
    cuts_up: AtomicU64,
    cuts_down: AtomicU64,
}

/// A running shaped link. Dropping it closes every connection and stops it.
pub struct ShapedLink {
    address: SocketAddr,
    seed: u64,
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
    thread: Option<JoinHandle<()>>,
}

impl ShapedLink {
    /// Starts a link on 127.0.0.1 in front of `upstream` (a loopback address),
    /// shaped by `shape`, with every random decision drawn from `seed`.
    pub fn start(upstream: SocketAddr, shape: NetworkShape, seed: u64) -> io::Result<ShapedLink> {
        if !upstream.ip().is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the shaped link only forwards to loopback",
            ));
        }
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(Counters::default());
        let thread = {
            let (stop, counters) = (stop.clone(), counters.clone());
            thread::spawn(move || accept_loop(listener, upstream, shape, seed, &stop, &counters))
        };
        Ok(ShapedLink {
            address,
            seed,
            stop,
            counters,
            thread: Some(thread),
        })
    }

    /// Where the phone connects.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The seed every decision is drawn from (print it to replay a run).
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// What went through so far.
    pub fn tally(&self) -> LinkTally {
        let c = &self.counters;
        let get = |n: &AtomicU64| n.load(Ordering::SeqCst);
        LinkTally {
            connections: get(&c.connections),
            bytes_up: get(&c.bytes_up),
            bytes_down: get(&c.bytes_down),
            retransmitted_up: get(&c.retransmitted_up),
            retransmitted_down: get(&c.retransmitted_down),
            segments: get(&c.segments),
            lost_segments: get(&c.lost_segments),
            cuts_up: get(&c.cuts_up),
            cuts_down: get(&c.cuts_down),
        }
    }
}

impl Drop for ShapedLink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    shape: NetworkShape,
    seed: u64,
    stop: &Arc<AtomicBool>,
    counters: &Arc<Counters>,
) {
    let mut connections: Vec<Connection> = Vec::new();
    let mut number = 0u64;
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((phone, _)) => {
                counters.connections.fetch_add(1, Ordering::SeqCst);
                let rng = Random::new(seed, number);
                number += 1;
                // A connection the link cannot open is dropped: the phone sees
                // it close, as on a real network.
                if let Ok(connection) =
                    Connection::open(phone, upstream, shape, rng, stop, counters)
                {
                    connections.push(connection);
                }
                connections.retain_mut(|c| !c.finished());
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                thread::park_timeout(Duration::from_millis(5))
            }
            Err(_) => break,
        }
    }
    for connection in connections {
        connection.close();
    }
}

/// Both sockets of one connection, shut together when it is cut.
#[derive(Clone)]
struct Sockets {
    phone: Arc<TcpStream>,
    server: Arc<TcpStream>,
    cut: Arc<AtomicBool>,
}

impl Sockets {
    /// Cuts the connection: both sockets shut, wherever the streams are.
    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        let _ = self.phone.shutdown(Shutdown::Both);
        let _ = self.server.shutdown(Shutdown::Both);
    }

    fn is_cut(&self) -> bool {
        self.cut.load(Ordering::SeqCst)
    }
}

/// One proxied connection: a reader and a writer thread in each direction.
struct Connection {
    sockets: Sockets,
    threads: Vec<JoinHandle<()>>,
}

impl Connection {
    fn open(
        phone: TcpStream,
        upstream: SocketAddr,
        shape: NetworkShape,
        mut rng: Random,
        stop: &Arc<AtomicBool>,
        counters: &Arc<Counters>,
    ) -> io::Result<Connection> {
        let accepted = Instant::now();
        phone.set_nonblocking(false)?;
        let server = TcpStream::connect_timeout(&upstream, Duration::from_secs(5))?;
        let _ = phone.set_nodelay(true);
        let _ = server.set_nodelay(true);
        let sockets = Sockets {
            phone: Arc::new(phone),
            server: Arc::new(server),
            cut: Arc::new(AtomicBool::new(false)),
        };
        // The handshake: one round trip, and a lost SYN costs the initial timeout.
        let mut first_byte = accepted + shape.round_trip;
        if rng.chance(shape.segment_loss) {
            counters.lost_segments.fetch_add(1, Ordering::SeqCst);
            first_byte += SYN_TIMEOUT;
        }
        let mut threads = Vec::with_capacity(4);
        for direction in [Direction::Up, Direction::Down] {
            let (source, destination) = match direction {
                Direction::Up => (sockets.phone.clone(), sockets.server.clone()),
                Direction::Down => (sockets.server.clone(), sockets.phone.clone()),
            };
            let (send, receive) = mpsc::channel();
            let schedule = Schedule::new(shape, rng.split(), first_byte);
            let (reader_sockets, reader_counters) = (sockets.clone(), counters.clone());
            threads.push(thread::spawn(move || {
                read(
                    direction,
                    schedule,
                    &source,
                    &send,
                    &reader_sockets,
                    &reader_counters,
                )
            }));
            let (writer_sockets, stop, counters) =
                (sockets.clone(), stop.clone(), counters.clone());
            threads.push(thread::spawn(move || {
                deliver(
                    direction,
                    &receive,
                    &destination,
                    &writer_sockets,
                    &stop,
                    &counters,
                )
            }));
        }
        Ok(Connection { sockets, threads })
    }

    fn finished(&self) -> bool {
        self.threads.iter().all(JoinHandle::is_finished)
    }

    fn close(self) {
        self.sockets.cut();
        for thread in self.threads {
            let _ = thread.join();
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// Phone to server.
    Up,
    /// Server to phone.
    Down,
}

/// What a reader hands its writer: bytes to deliver at a time, then maybe a cut.
enum Delivery {
    /// Write these bytes at this time.
    Bytes(Instant, Vec<u8>),
    /// Cut the connection at this time.
    Cut(Instant),
    /// The source closed its side: close the destination's at this time.
    End(Instant),
}

/// The schedule of one direction of one connection: when each piece of the
/// stream arrives, whether it was lost on the way, and where the direction is
/// cut. Every decision depends on byte offsets only, never on how reads split
/// the stream.
struct Schedule {
    shape: NetworkShape,
    /// Decides which segments of the stream's grid of [`SEGMENT_BYTES`] are lost.
    loss_seed: u64,
    /// The byte offset at which this direction is cut, if it is.
    cut_at: Option<u64>,
    /// Bytes of the stream scheduled so far.
    position: u64,
    /// When the link is free to send the next segment.
    link_free_at: Instant,
    /// When the last segment arrives (segments arrive in order).
    last_arrival: Instant,
}

/// One piece of the stream, scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Piece {
    /// How many of the bytes read go (fewer than read when the cut falls inside).
    bytes: usize,
    /// When they arrive.
    arrival: Instant,
    /// Whether they were lost once and sent again.
    lost: bool,
    /// Whether the connection is cut right after them.
    cut: bool,
}

impl Schedule {
    /// The schedule of a direction whose first byte may leave at `first_byte`.
    fn new(shape: NetworkShape, mut rng: Random, first_byte: Instant) -> Schedule {
        let loss_seed = rng.next();
        let cut_at = shape
            .mean_bytes_between_cuts
            .map(|mean| rng.exponential(mean as f64) as u64);
        Schedule {
            shape,
            loss_seed,
            cut_at,
            position: 0,
            link_free_at: first_byte,
            last_arrival: first_byte,
        }
    }

    /// How many bytes the next read may take: up to the end of the current
    /// segment of the grid, so that a read never spans two segments.
    fn room(&self) -> usize {
        SEGMENT_BYTES - (self.position % SEGMENT_BYTES as u64) as usize
    }

    /// Whether segment `index` of the grid is lost.
    fn is_lost(&self, index: u64) -> bool {
        self.shape.segment_loss > 0.0
            && Random::new(self.loss_seed, index).chance(self.shape.segment_loss)
    }

    /// Schedules `read` bytes read at `now` (at most [`Schedule::room`]).
    fn piece(&mut self, now: Instant, read: usize) -> Piece {
        let end = self.position + read as u64;
        let (bytes, cut) = match self.cut_at {
            Some(cut) if cut < end => ((cut - self.position) as usize, true),
            _ => (read, false),
        };
        let transmission = self.shape.transmission(bytes);
        self.link_free_at = self.link_free_at.max(now) + transmission;
        let mut arrival = self.link_free_at + self.shape.round_trip / 2;
        let lost = bytes > 0 && self.is_lost(self.position / SEGMENT_BYTES as u64);
        if lost {
            // Sent again after the timeout, occupying the link once more.
            arrival += self.shape.retransmission_timeout();
            self.link_free_at += transmission;
        }
        arrival = arrival.max(self.last_arrival);
        self.last_arrival = arrival;
        self.position += bytes as u64;
        Piece {
            bytes,
            arrival,
            lost,
            cut,
        }
    }

    /// When the source's end reaches the destination.
    fn end(&self) -> Instant {
        self.last_arrival
            .max(self.link_free_at + self.shape.round_trip / 2)
    }
}

/// Reads the source piece by piece and hands each to the writer with its
/// arrival time, counting segments, losses and retransmitted bytes.
fn read(
    direction: Direction,
    mut schedule: Schedule,
    source: &TcpStream,
    writer: &Sender<Delivery>,
    sockets: &Sockets,
    counters: &Counters,
) {
    let retransmitted = match direction {
        Direction::Up => &counters.retransmitted_up,
        Direction::Down => &counters.retransmitted_down,
    };
    let mut buffer = [0u8; SEGMENT_BYTES];
    let mut source = source;
    loop {
        let room = schedule.room();
        let read = match source.read(&mut buffer[..room]) {
            Ok(0) | Err(_) => {
                if !sockets.is_cut() {
                    let _ = writer.send(Delivery::End(schedule.end()));
                }
                return;
            }
            Ok(n) => n,
        };
        let piece = schedule.piece(Instant::now(), read);
        if piece.bytes > 0 {
            counters.segments.fetch_add(1, Ordering::SeqCst);
            if piece.lost {
                counters.lost_segments.fetch_add(1, Ordering::SeqCst);
                retransmitted.fetch_add(piece.bytes as u64, Ordering::SeqCst);
            }
            let bytes = buffer[..piece.bytes].to_vec();
            if writer.send(Delivery::Bytes(piece.arrival, bytes)).is_err() {
                return;
            }
        }
        if piece.cut {
            let _ = writer.send(Delivery::Cut(piece.arrival));
            return;
        }
    }
}

/// Writes each delivery to the destination at its time; cuts or closes when told.
fn deliver(
    direction: Direction,
    deliveries: &Receiver<Delivery>,
    destination: &TcpStream,
    sockets: &Sockets,
    stop: &AtomicBool,
    counters: &Counters,
) {
    let delivered = match direction {
        Direction::Up => &counters.bytes_up,
        Direction::Down => &counters.bytes_down,
    };
    let mut destination = destination;
    while let Ok(delivery) = deliveries.recv() {
        let at = match &delivery {
            Delivery::Bytes(at, _) | Delivery::Cut(at) | Delivery::End(at) => *at,
        };
        if !wait_until(at, sockets, stop) {
            return;
        }
        match delivery {
            Delivery::Bytes(_, bytes) => {
                if destination.write_all(&bytes).is_err() {
                    sockets.cut();
                    return;
                }
                delivered.fetch_add(bytes.len() as u64, Ordering::SeqCst);
            }
            Delivery::Cut(_) => {
                let cuts = match direction {
                    Direction::Up => &counters.cuts_up,
                    Direction::Down => &counters.cuts_down,
                };
                cuts.fetch_add(1, Ordering::SeqCst);
                sockets.cut();
                return;
            }
            Delivery::End(_) => {
                let _ = destination.shutdown(Shutdown::Write);
                return;
            }
        }
    }
}

/// Sleeps until `at` in short steps; `false` when the connection was cut or
/// the link stopped meanwhile.
fn wait_until(at: Instant, sockets: &Sockets, stop: &AtomicBool) -> bool {
    loop {
        if sockets.is_cut() || stop.load(Ordering::SeqCst) {
            return false;
        }
        let now = Instant::now();
        if now >= at {
            return true;
        }
        thread::sleep((at - now).min(Duration::from_millis(20)));
    }
}

/// splitmix64: small, seedable, and good enough for a network's bad luck.
struct Random(u64);

impl Random {
    /// The generator of connection `number` under `seed`.
    fn new(seed: u64, number: u64) -> Random {
        let mut random = Random(seed ^ number.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        random.next();
        random
    }

    /// An independent generator drawn from this one.
    fn split(&mut self) -> Random {
        Random(self.next())
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1].
    fn unit(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    fn chance(&mut self, probability: f64) -> bool {
        self.unit() <= probability
    }

    /// Exponentially distributed with the given mean.
    fn exponential(&mut self, mean: f64) -> f64 {
        -self.unit().ln() * mean
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    /// A loopback server that echoes every connection's bytes back until the
    /// client closes its side.
    fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let address = listener.local_addr().unwrap();
        thread::spawn(move || {
            for stream in listener.incoming().take(64) {
                let Ok(stream) = stream else { return };
                thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut writer = stream;
                    let _ = io::copy(&mut reader, &mut writer);
                    let _ = writer.shutdown(Shutdown::Write);
                });
            }
        });
        address
    }

    /// Sends `bytes` through the link and reads back what returns before the
    /// connection ends.
    fn round_trip(link: &ShapedLink, bytes: &[u8]) -> Vec<u8> {
        let mut stream = TcpStream::connect(link.address()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut writer = stream.try_clone().unwrap();
        let bytes = bytes.to_vec();
        let sender = thread::spawn(move || {
            let _ = writer.write_all(&bytes);
            let _ = writer.shutdown(Shutdown::Write);
        });
        let mut back = Vec::new();
        let _ = stream.read_to_end(&mut back);
        let _ = sender.join();
        back
    }

    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn without_cuts_every_byte_arrives_in_order_despite_losses() {
        let shape = NetworkShape {
            round_trip: Duration::from_millis(2),
            bits_per_second: None,
            segment_loss: 0.2,
            mean_bytes_between_cuts: None,
        };
        let link = ShapedLink::start(echo_server(), shape, 11).unwrap();
        let sent = pattern(200_000);
        assert_eq!(round_trip(&link, &sent), sent);
        let tally = link.tally();
        assert_eq!(tally.bytes_up, 200_000);
        assert_eq!(tally.bytes_down, 200_000);
        assert!(tally.lost_segments > 0, "{tally:?}");
        assert!(tally.retransmitted_up > 0 && tally.retransmitted_down > 0);
        assert_eq!(tally.cuts(), 0);
    }

    #[test]
    fn a_cut_delivers_a_prefix_and_closes_the_connection() {
        let shape = NetworkShape {
            round_trip: Duration::ZERO,
            bits_per_second: None,
            segment_loss: 0.0,
            mean_bytes_between_cuts: Some(50_000),
        };
        let link = ShapedLink::start(echo_server(), shape, 5).unwrap();
        let sent = pattern(2_000_000);
        let back = round_trip(&link, &sent);
        assert!(back.len() < sent.len(), "nothing was cut");
        assert_eq!(back, sent[..back.len()], "what arrived is a prefix");
        assert!(link.tally().cuts() >= 1);
    }

    /// Where a direction of a connection is cut and which segments of the
    /// grid it loses on the way, reading the stream `read_size` bytes at a time.
    fn cut_and_losses(seed: u64, read_size: usize) -> (u64, Vec<u64>) {
        let shape = NetworkShape {
            round_trip: Duration::ZERO,
            bits_per_second: None,
            segment_loss: 0.1,
            mean_bytes_between_cuts: Some(100_000),
        };
        let now = Instant::now();
        let mut schedule = Schedule::new(shape, Random::new(seed, 0), now);
        let mut lost = Vec::new();
        loop {
            let segment = schedule.position / SEGMENT_BYTES as u64;
            let piece = schedule.piece(now, schedule.room().min(read_size));
            if piece.lost && lost.last() != Some(&segment) {
                lost.push(segment);
            }
            if piece.cut {
                return (schedule.position, lost);
            }
        }
    }

    #[test]
    fn the_seed_and_the_bytes_decide_losses_and_cuts_not_how_reads_split_them() {
        let whole = cut_and_losses(77, SEGMENT_BYTES);
        assert_eq!(cut_and_losses(77, 100), whole);
        assert_eq!(cut_and_losses(77, 999), whole);
        assert!(!whole.1.is_empty());
        assert_ne!(cut_and_losses(78, SEGMENT_BYTES), whole);
    }

    #[test]
    fn the_bandwidth_is_what_the_transmission_time_charges() {
        let shape = NetworkShape::village();
        assert_eq!(shape.transmission(48_000), Duration::from_secs(1));
        assert_eq!(shape.retransmission_timeout(), Duration::from_millis(600));
        let fast = NetworkShape {
            round_trip: Duration::from_millis(40),
            ..shape
        };
        assert_eq!(fast.retransmission_timeout(), Duration::from_millis(200));
        assert_eq!(
            NetworkShape::unshaped().transmission(1 << 20),
            Duration::ZERO
        );
    }

    #[test]
    fn only_loopback_upstreams_are_accepted() {
        let outside: SocketAddr = "192.0.2.1:80".parse().unwrap();
        assert!(ShapedLink::start(outside, NetworkShape::unshaped(), 1).is_err());
    }
}
