/// Names shared by the outbox's writers and readers.
public enum Outbox {
    /// The NOTIFY channel that wakes idle workers when work is enqueued or comes due.
    public static let workChannel = "dispatcher_work"

    /// States in which a message is finished for good.
    public static let finalStates = MessageState.finals
}
