using EtlStream.Tables;

namespace EtlStream.Formats.Json;

/// <summary>
/// JSON Lines (<c>.jsonl</c>, <c>.ndjson</c>) and JSON documents (a top-level array of records, or the array under
/// <c>json.records</c>): recognised by a first non-blank byte <c>{</c> or <c>[</c> (after a UTF-8 byte-order mark).
/// </summary>
internal sealed class JsonFormat : InputFormat
{
    public static JsonFormat Instance { get; } = new();

    private JsonFormat()
    {
    }

    public override string Kind => "json";

    public override bool Recognizes(ReadOnlySpan<byte> head)
    {
        if (head.StartsWith("\uFEFF"u8))
        {
            head = head[3..];
        }

        var first = head.IndexOfAnyExcept(" \t\r\n"u8);
        return first >= 0 && head[first] is (byte)'{' or (byte)'[';
    }

    public override IRecordReader Open(Stream input, string source, TableSpec spec) => new JsonRecordReader(input, source, spec);
}
