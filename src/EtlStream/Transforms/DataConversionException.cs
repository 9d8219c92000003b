using EtlStream.Formats.Csv;

namespace EtlStream.Transforms;

/// <summary>A value that does not fit its column, with where it came from: file, line, field number, column and value.</summary>
public sealed class DataConversionException(string file, long line, int field, string column, string sourceHeader, string value, string type, string reason)
    : FormatException(Describe(file, line, field, column, sourceHeader, value, type, reason))
{
    public string File { get; } = file;

    public long Line { get; } = line;

    /// <summary>The 1-based field number in the source record.</summary>
    public int Field { get; } = field;

    public string Column { get; } = column;

    public string Value { get; } = value;

    public string Reason { get; } = reason;

    private static string Describe(string file, long line, int field, string column, string header, string value, string type, string reason)
    {
        var shown = PrintableText.Escape(value.Length > 200 ? value[..200] + "…" : value);
        var source = string.Equals(column, header, StringComparison.OrdinalIgnoreCase) ? "" : $" (source '{PrintableText.Escape(header)}')";
        column = PrintableText.Escape(column);
        return reason.StartsWith("NULL", StringComparison.Ordinal)
            ? $"{file}:{line}:{field}: column '{column}'{source}: {reason}"
            : $"{file}:{line}:{field}: column '{column}'{source}: cannot convert '{shown}' to {type}: {reason}";
    }
}

/// <summary>A file whose header does not provide the columns a table spec reads.</summary>
public sealed class SourceSchemaException(string file, string message) : Exception($"{file}: {message}")
{
    public string File { get; } = file;
}
