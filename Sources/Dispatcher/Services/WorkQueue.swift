public import Store
public import Support

/// Claimed messages between the producer and the senders, with the slot accounting that
/// keeps the producer from claiming more than it can send: free = capacity − queued − in flight.
public actor WorkQueue {
    /// A claimed message and when its lease began: no later than the claim statement's start
    /// (for the lease checks before sending).
    public struct Item: Sendable {
        public var message: ClaimedMessage
        public var claimedAt: ContinuousClock.Instant
    }

    public let capacity: Int
    private var queued: [Item] = []
    private var head = 0
    private var inFlight = 0
    /// Slots promised to claim statements still running.
    private var reserved = 0
    /// Claim statements running.
    public private(set) var claimsRunning = 0
    private var closed = false
    private var waiters: [CheckedContinuation<Item?, Never>] = []
    /// Notified when a sender frees its slot and at least `notifyAt` slots are free, and when
    /// a claim statement ends.
    public nonisolated let slotFreed = WakeSignal()
    /// The producer's smallest useful claim: waking it for fewer free slots is wasted work.
    private var notifyAt = 1

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    public var freeSlots: Int { closed ? 0 : capacity - (queued.count - head) - inFlight - reserved }

    /// Free slots and running claims, read together (one hop for the producer's loop).
    public var claimState: (free: Int, claimsRunning: Int) { (freeSlots, claimsRunning) }

    /// Promises `n` free slots to a claim statement about to run.
    public func reserve(_ n: Int) {
        reserved += n
        claimsRunning += 1
    }

    /// The claim that reserved `reservation` slots is over: its messages (at most that many,
    /// leased from `claimedAt`, taken before the statement was sent) take their slots, the
    /// rest are free again.
    public func claimFinished(reservation: Int, _ messages: [ClaimedMessage], claimedAt: ContinuousClock.Instant) {
        reserved -= reservation
        claimsRunning -= 1
        push(messages, claimedAt: claimedAt)
        slotFreed.notify()
    }
    public var isIdle: Bool { queued.count == head && inFlight == 0 }

    public func push(_ messages: [ClaimedMessage], claimedAt: ContinuousClock.Instant) {
        for m in messages {
            let item = Item(message: m, claimedAt: claimedAt)
            if !waiters.isEmpty {
                inFlight += 1
                waiters.removeFirst().resume(returning: item)
            } else {
                queued.append(item)
            }
        }
    }

    /// The next message to send (now in flight), or nil once closed and empty.
    public func next() async -> Item? {
        if head < queued.count {
            let item = queued[head]
            head += 1
            if head > 256 && head * 2 > queued.count {
                queued.removeFirst(head)
                head = 0
            }
            inFlight += 1
            return item
        }
        if closed || Task.isCancelled { return nil }
        return await withCheckedContinuation { waiters.append($0) }
    }

    /// A sender finished its message.
    public func done() {
        inFlight -= 1
        if freeSlots >= notifyAt { slotFreed.notify() }
    }

    /// Wake the producer only once this many slots are free (at most the capacity).
    public func setNotifyThreshold(_ n: Int) {
        notifyAt = max(1, min(n, capacity))
    }

    /// Takes out every queued message not yet being sent (to release it).
    public func takeQueued() -> [ClaimedMessage] {
        let rest = queued[head...].map(\.message)
        queued.removeAll()
        head = 0
        return rest
    }

    /// No more messages: waiting senders get nil.
    public func close() {
        closed = true
        let w = waiters
        waiters.removeAll()
        for c in w { c.resume(returning: nil) }
    }
}
