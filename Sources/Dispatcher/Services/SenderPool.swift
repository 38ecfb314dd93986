/// `concurrency` tasks that take messages from the work queue, send them and hand the
/// outcomes to the completer. Ends when the queue is closed and every send in flight has
/// finished; then tells the completer no more outcomes will come.
public struct SenderPool: Service {
    public let name = "sender"
    public var concurrency: Int
    public var queue: WorkQueue
    public var sender: MessageSender
    public var completer: Completer

    public init(concurrency: Int, queue: WorkQueue, sender: MessageSender, completer: Completer) {
        self.concurrency = max(1, concurrency)
        self.queue = queue
        self.sender = sender
        self.completer = completer
    }

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    while let item = await queue.next() {
                        let completion = await sender.send(item)
                        await completer.submit(completion)
                        // the slot frees once the completer keeps up (backpressure on claims)
                        let waitStarted = ContinuousClock.now
                        await completer.waitForRoom()
                        sender.metrics.observe("dispatcher_completer_wait_seconds", [:], (ContinuousClock.now - waitStarted).seconds)
                        await queue.done()
                    }
                }
            }
        }
        await completer.finish()
    }
}
