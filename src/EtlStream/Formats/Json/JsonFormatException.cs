namespace EtlStream.Formats.Json;

/// <summary>A JSON file that cannot be read as records, with where: file and 1-based line (and the reason, which names the byte).</summary>
public sealed class JsonFormatException(string file, long line, string reason)
    : FormatException($"{file}:{line}: {reason}")
{
    public string File { get; } = file;

    public long Line { get; } = line;

    public string Reason { get; } = reason;
}
