namespace EtlStream.Sources;

/// <summary>
/// A place input files are listed from: a local folder, an Azure Blob container, an S3 bucket. The CLI and tenant
/// jobs list through this, so every store behaves the same to the pipeline.
/// </summary>
public interface ISourceStore
{
    /// <summary>Where the store lists from, for messages: a folder, <c>az://container/prefix</c>, <c>s3://bucket/prefix</c>.</summary>
    string Location { get; }

    /// <summary>
    /// The objects <paramref name="pattern"/> selects (see <see cref="ObjectNamePattern"/>), sorted by name; empty
    /// when none. A <c>{date}</c> in the pattern matches the dates of <paramref name="dates"/> (any date without it).
    /// </summary>
    Task<IReadOnlyList<SourceFile>> ListAsync(string pattern, DateRange? dates, CancellationToken cancellationToken);
}

/// <summary>An inclusive range of run dates, for a <c>{date}</c> placeholder (a backfill lists many days at once).</summary>
public readonly record struct DateRange(DateOnly From, DateOnly To)
{
    public static DateRange Day(DateOnly date) => new(date, date);

    public bool Contains(DateOnly date) => date >= From && date <= To;
}
