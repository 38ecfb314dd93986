/// `concurrency` tasks that take messages from the work queue, send them and hand the
/// outcomes to the completer. Ends when the queue is closed and every send in flight has
/// finished; then tells the completer no more outcomes will come.
public struct SenderPool: Service {
    public struct Configuration: Sendable {
        /// Sends in flight at once (`concurrency`). Default 8.
        public var concurrency = 8
        public init(concurrency: Int = 8) { self.concurrency = concurrency }

        public func validate() throws(ServiceConfigurationError) {
            guard concurrency >= 1 else { throw ServiceConfigurationError(service: "sender", field: "concurrency", "must be at least 1") }
        }
    }

    public let name = "sender"
    public var configuration: Configuration
    public var queue: WorkQueue
    public var sender: MessageSender
    public var completer: Completer

    public init(configuration: Configuration, queue: WorkQueue, sender: MessageSender, completer: Completer) {
        self.configuration = configuration
        self.queue = queue
        self.sender = sender
        self.completer = completer
    }

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<max(1, configuration.concurrency) {
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
