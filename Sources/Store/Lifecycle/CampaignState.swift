/// A campaign's `campaigns.status`, mirrored in its CHECK constraint.
public enum CampaignState: String, SQLVocabulary {
    /// Its due messages are claimed. In: submit (a new campaign); `dispatcher resume`.
    case active
    /// Kept but not claimed. In: `dispatcher pause`. Out: `dispatcher resume`.
    case paused
    /// Final: its pending messages became `cancelled`; it cannot be paused or resumed.
    /// In: `dispatcher cancel`.
    case cancelled
}
