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
