namespace EtlStream.Compression;

/// <summary>
/// Bounds on what one compressed entry may expand to, against decompression ("zip") bombs. Real CSV compresses
/// 3–10:1 (the standard job: 2.9:1), so the defaults leave honest files far below them.
/// </summary>
public sealed record DecompressionLimits
{
    public static DecompressionLimits Default { get; } = new();

    /// <summary>The most decompressed bytes of one entry (default 1 TiB).</summary>
    public long MaxBytes { get; init; } = 1L << 40;

    /// <summary>The most decompressed bytes per compressed byte read (default 1,000:1).</summary>
    public long MaxRatio { get; init; } = 1000;

    /// <summary>The ratio is checked once this many bytes came out, so that tiny files of repeated text pass (default 64 MiB).</summary>
    public long RatioCheckAfterBytes { get; init; } = 64L * 1024 * 1024;
}
