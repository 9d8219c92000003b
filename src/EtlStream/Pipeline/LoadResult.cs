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

    /// <summary>Rejected rows per rule (conversion, not_null, max_length).</summary>
    public IReadOnlyDictionary<string, long> RejectsByRule { get; init; } = new Dictionary<string, long>();

    /// <summary>The rejects file, when rows were rejected and a path was given.</summary>
    public string? RejectsPath { get; init; }

    /// <summary>Uncompressed bytes parsed.</summary>
    public long BytesRead { get; init; }

    public TimeSpan Elapsed { get; init; }

    public long PeakWorkingSetBytes { get; init; }

    public IReadOnlyList<StageClock> Stages { get; init; } = [];

    /// <summary>One entry per source file, in the order the files were given; a zip's entries are summed into it.</summary>
    public IReadOnlyList<FileLoadResult> FileResults { get; init; } = [];

    /// <summary>
    /// This result with each file's version (ETag) and last-modified time taken from <paramref name="listed"/>, the
    /// files the load was given, in the same order.
    /// </summary>
    public LoadResult WithListing(IReadOnlyList<Sources.SourceFile> listed)
    {
        var files = new FileLoadResult[FileResults.Count];
        for (var i = 0; i < files.Length; i++)
        {
            var f = FileResults[i];
            files[i] = f is not null && i < listed.Count && listed[i].Name == f.Name
                ? f with { Version = listed[i].Version, LastModified = listed[i].LastModified }
                : f!;
        }

        return this with { FileResults = files };
    }

    /// <summary>The name of the stage with the most busy time (the first of equals); empty without stages.</summary>
    public string Bottleneck
    {
        get
        {
            StageClock? busiest = null;
            foreach (var stage in Stages)
            {
                if (busiest is null || stage.Busy > busiest.Busy)
                {
                    busiest = stage;
                }
            }

            return busiest?.Name ?? "";
        }
    }
}

/// <summary>
/// One source file's figures: records and uncompressed bytes parsed, its size as listed
/// (<see cref="Sources.SourceFile.Length"/>, compressed for a compressed file), and the wall time from opening it
/// to its last batch handed on (waits on the stages after it included).
/// </summary>
public sealed record FileLoadResult(string Name, long RowsRead, long BytesRead, long CompressedBytes, TimeSpan Elapsed)
{
    /// <summary>The version read (<see cref="Sources.SourceFile.Version"/>: an ETag for an object store).</summary>
    public string? Version { get; init; }

    /// <summary>When the object was last written, as listed.</summary>
    public DateTimeOffset? LastModified { get; init; }
}
