namespace EtlStream.Formats.Csv;

/// <summary>A file that is not valid CSV, with where: file, 1-based line and 1-based field.</summary>
public sealed class CsvFormatException(string file, long line, int column, string reason)
    : FormatException($"{file}:{line}:{column}: {reason}")
{
    public string File { get; } = file;

    public long Line { get; } = line;

    public int Column { get; } = column;

    public string Reason { get; } = reason;
}
