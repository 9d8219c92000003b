namespace EtlStream.Sources;

/// <summary>
/// One input object as a source lists it: a local file, a blob, an S3 object. <see cref="Name"/> is what
/// errors and reports show (a path or URL without secrets); <see cref="Version"/> is what identifies this
/// exact content (an ETag, or size and modification time for a local file).
/// </summary>
public sealed record SourceFile(string Name, long Length, string Version, Func<CancellationToken, ValueTask<Stream>> Open)
{
    /// <summary>The object's name without folders, e.g. <c>invoices_2026-11-24.csv.gz</c>.</summary>
    public string FileName => Path.GetFileName(Name);

    /// <summary>When the object was last written, as its store reports it (UTC).</summary>
    public DateTimeOffset? LastModified { get; init; }

    /// <summary>
    /// The content can be read only once, as it comes (standard input, a pipe, a FIFO): whatever reads a header
    /// first must hand the same bytes on (<see cref="ReplayReadStream"/>) instead of opening it again.
    /// </summary>
    public bool ReadOnce { get; init; }

    /// <summary>
    /// The path of a regular local file, for a format that reads in place rather than as a stream (Parquet); null
    /// for anything else.
    /// </summary>
    public string? LocalPath { get; init; }
}
