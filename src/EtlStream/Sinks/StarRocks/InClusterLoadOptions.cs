namespace EtlStream.Sinks.StarRocks;

/// <summary>How an in-cluster backfill submits: files at once, and how long a statement and a label's polling may take.</summary>
public sealed record InClusterLoadOptions
{
    /// <summary>Statements in flight at once (and headers read at once): <c>--parallel-files</c>.</summary>
    public int ParallelFiles { get; init; } = 4;

    /// <summary>The longest one INSERT … FROM FILES may run (the client's command timeout).</summary>
    public TimeSpan StatementTimeout { get; init; } = TimeSpan.FromHours(1);

    /// <summary>How often a label the cluster still runs is asked about, and for how long.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(2);

    public TimeSpan PollLimit { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Submissions of one file whose outcome stayed unknown (a lost reply) before its load fails.</summary>
    public int MaxAttempts { get; init; } = 3;

    /// <summary>The most bytes of a decompressed file read to find its header line.</summary>
    public int MaxHeaderBytes { get; init; } = 1024 * 1024;

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (ParallelFiles is < 1 or > 256)
        {
            errors.Add($"--parallel-files: {ParallelFiles} is not between 1 and 256");
        }

        if (StatementTimeout <= TimeSpan.Zero || PollInterval <= TimeSpan.Zero || PollLimit <= TimeSpan.Zero)
        {
            errors.Add("in-cluster timeouts must be positive");
        }

        if (MaxAttempts < 1)
        {
            errors.Add("in-cluster attempts must be at least 1");
        }

        return errors;
    }
}
