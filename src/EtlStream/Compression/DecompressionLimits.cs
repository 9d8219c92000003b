namespace EtlStream.Compression;

/// <summary>
/// Bounds on what one source file may expand to, against decompression ("zip") bombs. They count across all the
/// entries of an archive (and, separately, across each level of archives inside it), never per entry alone: a zip of
/// many small entries, or of entries that share their compressed data, adds up. Real CSV compresses 3–10:1 (the
/// standard job: 2.9:1), so the defaults leave honest files far below them.
/// </summary>
public sealed record DecompressionLimits
{
    public static DecompressionLimits Default { get; } = new();

    /// <summary>The most decompressed bytes of one source file, all entries together (default 1 TiB).</summary>
    public long MaxBytes { get; init; } = 1L << 40;

    /// <summary>The most decompressed bytes per compressed byte of the source file (default 1,000:1).</summary>
    public long MaxRatio { get; init; } = 1000;

    /// <summary>The ratio is checked once this many bytes came out, so that tiny files of repeated text pass (default 64 MiB).</summary>
    public long RatioCheckAfterBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>
    /// The most file entries one archive (nested archives included) may hold (default 1,000,000). Each entry costs a
    /// header read and a schema bind downstream, and a seekable archive's directory is held in memory while it is read.
    /// </summary>
    public long MaxEntries { get; init; } = 1_000_000;
}
