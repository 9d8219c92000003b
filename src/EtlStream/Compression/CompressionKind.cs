namespace EtlStream.Compression;

public enum CompressionKind
{
    None,
    Gzip,
    Zip,
    Bzip2,
    Zstd,
}
