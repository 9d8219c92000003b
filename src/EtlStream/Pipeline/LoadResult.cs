namespace EtlStream.Pipeline;

/// <summary>What a load did: the figures the run report and the summary line show.</summary>
public sealed record LoadResult
{
    public int Files { get; init; }

    /// <summary>Source records parsed.</summary>
    public long RowsRead { get; init; }

    public long RowsLoaded { get; init; }

    /// <summary>Records dropped by the table's row filters (not errors).</summary>
    public long RowsFiltered { get; init; }

    public long RowsRejected { get; init; }

    /// <summary>Uncompressed bytes parsed.</summary>
    public long BytesRead { get; init; }

    public TimeSpan Elapsed { get; init; }

    public long PeakWorkingSetBytes { get; init; }

    public IReadOnlyList<StageClock> Stages { get; init; } = [];
}
