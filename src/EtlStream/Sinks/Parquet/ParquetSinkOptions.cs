namespace EtlStream.Sinks.Parquet;

/// <summary>Page compression codec of a Parquet file.</summary>
public enum ParquetCompression
{
    Zstd,
    Snappy,
    None,
}

/// <summary>Where and how <see cref="ParquetSink"/> writes.</summary>
internal sealed record ParquetSinkOptions
{
    /// <summary>Target file; replaced atomically when the run completes.</summary>
    public required string Path { get; init; }

    public ParquetCompression Compression { get; init; } = ParquetCompression.Zstd;

    /// <summary>The most rows in one row group; a row group reaching it is closed mid-batch.</summary>
    public int RowGroupRows { get; init; } = 512 * 1024;

    /// <summary>
    /// Batches are gathered into one row group until their Arrow bytes reach this, then it is closed at the batch
    /// boundary: a standard job's 65,536-row batch (~21 MB) is a row group of its own, tiny batches (zip entries,
    /// a wide table's few hundred rows) share one.
    /// </summary>
    public long RowGroupBytes { get; init; } = DefaultRowGroupBytes;

    public const long DefaultRowGroupBytes = 16L * 1024 * 1024;
}

/// <summary>Where and how <see cref="ParquetLakeSink"/> writes a lake table.</summary>
internal sealed record ParquetLakeSinkOptions
{
    /// <summary>The table's folder; one Parquet file per source file goes into it.</summary>
    public required string Folder { get; init; }

    /// <summary>The evening refresh: the folder's content becomes this run's files, swapped in when the run completes.</summary>
    public bool Replace { get; init; }

    public ParquetCompression Compression { get; init; } = ParquetCompression.Zstd;

    /// <inheritdoc cref="ParquetSinkOptions.RowGroupRows"/>
    public int RowGroupRows { get; init; } = 512 * 1024;

    /// <inheritdoc cref="ParquetSinkOptions.RowGroupBytes"/>
    public long RowGroupBytes { get; init; } = ParquetSinkOptions.DefaultRowGroupBytes;
}
