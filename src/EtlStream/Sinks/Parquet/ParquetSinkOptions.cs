namespace EtlStream.Sinks.Parquet;

/// <summary>Page compression codec of a Parquet file.</summary>
public enum ParquetCompression
{
    Zstd,
    Snappy,
    None,
}

/// <summary>Where and how <see cref="ParquetSink"/> writes.</summary>
public sealed record ParquetSinkOptions
{
    /// <summary>Target file; replaced atomically when the run completes.</summary>
    public required string Path { get; init; }

    public ParquetCompression Compression { get; init; } = ParquetCompression.Zstd;

    /// <summary>The most rows in one row group. Each batch starts a row group (64 Ki rows by default), split when larger than this.</summary>
    public int RowGroupRows { get; init; } = 512 * 1024;
}

/// <summary>Where and how <see cref="ParquetLakeSink"/> writes a lake table.</summary>
public sealed record ParquetLakeSinkOptions
{
    /// <summary>The table's folder; one Parquet file per source file goes into it.</summary>
    public required string Folder { get; init; }

    /// <summary>The evening refresh: the folder's content becomes this run's files, swapped in when the run completes.</summary>
    public bool Replace { get; init; }

    public ParquetCompression Compression { get; init; } = ParquetCompression.Zstd;

    /// <inheritdoc cref="ParquetSinkOptions.RowGroupRows"/>
    public int RowGroupRows { get; init; } = 512 * 1024;
}
