using EtlStream.Tables;

namespace EtlStream.Formats.Arrow;

/// <summary>
/// Apache Arrow IPC: files (<c>.arrow</c>, Feather v2), recognised by their <c>ARROW1</c> magic, and streams,
/// recognised by the continuation marker (<c>FF FF FF FF</c>) and length their first message starts with. Both are
/// read forward, batch by batch, with Apache.Arrow's stream reader (a file is its stream between the magic and the
/// footer), so no format needs to be spooled or held whole; LZ4 and zstd bodies are decompressed.
/// </summary>
internal sealed class ArrowFormat : InputFormat
{
    public static ArrowFormat Instance { get; } = new();

    private ArrowFormat()
    {
    }

    public override string Kind => "arrow";

    public override bool Recognizes(ReadOnlySpan<byte> head) =>
        head.StartsWith("ARROW1"u8) || (head.Length >= 8 && BitConverter.ToUInt32(head[..4]) == 0xFFFFFFFF && BitConverter.ToInt32(head[4..8]) is > 0 and < (1 << 24));

    public override IRecordReader Open(Stream input, string source, TableSpec spec) => new ArrowRecordReader(input, source, spec);
}
