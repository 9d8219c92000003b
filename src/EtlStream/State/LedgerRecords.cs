namespace EtlStream.State;

/// <summary>
/// One source object committed into one target: the identity that makes loads exactly-once. <see cref="Target"/>
/// names the table in its database (e.g. <c>duckdb:datawiz_pidilite/fact_invoice_secondary</c>);
/// <see cref="SourceVersion"/> is the object's ETag, or size and modification time for a local file.
/// </summary>
public sealed record LedgerEntry(
    string Tenant,
    string Target,
    string SourceName,
    string SourceVersion,
    long Rows,
    DateOnly? FileDate,
    string RunId,
    DateTimeOffset CommittedAt);

/// <summary>
/// Which booked files <c>etlstream ledger list|forget</c> means; a null member matches all. <see cref="Table"/> is the
/// tenant's table name, <see cref="File"/> a source name or its last segment, and the dates bound the file date.
/// </summary>
public sealed record LedgerFilter(string? Tenant = null, string? Table = null, DateOnly? From = null, DateOnly? To = null, string? File = null)
{
    public bool IsEmpty => Tenant is null && Table is null && From is null && To is null && File is null;
}

/// <summary>A run as the ledger keeps it, for <c>etlstream runs</c> and <c>--resume</c>.</summary>
public sealed record RunRecord(
    string RunId,
    string Tenant,
    string Job,
    DateOnly RunDate,
    DateTimeOffset StartedAt,
    DateTimeOffset? FinishedAt,
    RunStatus Status,
    long RowsLoaded,
    int FilesLoaded,
    string? Error);

public enum RunStatus
{
    /// <summary>Started and not finished: still going, or killed (a rerun loads what it did not commit).</summary>
    Running,

    Succeeded,

    Failed,

    /// <summary>Stopped by Ctrl+C (or SIGTERM): what it committed stays, a rerun loads the rest.</summary>
    Cancelled,
}
