using System.Globalization;
using System.Text;

namespace EtlStream.Tests.StarRocks;

/// <summary>A column of the MariaDB table the protocol server commits into, read as StarRocks would see it.</summary>
internal sealed record TableColumn(string Name, string DataType, string ColumnType, long? MaxLength, bool Nullable)
{
    /// <summary>MariaDB's BOOLEAN is TINYINT(1); StarRocks takes true/false for it.</summary>
    public bool IsBoolean => ColumnType.Equals("tinyint(1)", StringComparison.OrdinalIgnoreCase);

    public bool IsText => DataType is "varchar" or "char" or "text" or "mediumtext" or "longtext" or "tinytext";
}

/// <summary>How a load's body is to be read: the format headers of the request.</summary>
internal sealed record BodyFormat(byte Separator, byte RowDelimiter, byte? Enclose, byte? Escape, bool StrictMode, int SkipHeader)
{
    public static BodyFormat From(StreamLoadRequest request, out string? error)
    {
        error = null;
        byte Byte(string? text, byte fallback, string name, ref string? err)
        {
            if (string.IsNullOrEmpty(text))
            {
                return fallback;
            }

            if (text.StartsWith("\\x", StringComparison.OrdinalIgnoreCase) && text.Length == 4 && byte.TryParse(text.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var hex))
            {
                return hex;
            }

            if (text == "\\t")
            {
                return (byte)'\t';
            }

            if (text == "\\n")
            {
                return (byte)'\n';
            }

            var bytes = Encoding.UTF8.GetBytes(text);
            if (bytes.Length != 1)
            {
                err = $"{name} '{text}' is invalid: this server takes one-byte separators";
                return fallback;
            }

            return bytes[0];
        }

        var format = request.Header("format");
        if (format is not null && !format.Equals("csv", StringComparison.OrdinalIgnoreCase))
        {
            error = $"format '{format}' is invalid here: the protocol server reads csv";
        }

        var sep = Byte(request.Header("column_separator"), (byte)'\t', "column_separator", ref error);
        var row = Byte(request.Header("row_delimiter") ?? request.Header("line_delimiter"), (byte)'\n', "row_delimiter", ref error);
        byte? enclose = request.Header("enclose") is { Length: > 0 } e ? Byte(e, 0, "enclose", ref error) : null;
        byte? escape = request.Header("escape") is { Length: > 0 } x ? Byte(x, 0, "escape", ref error) : null;
        var strict = request.Header("strict_mode") is { } s && s.Equals("true", StringComparison.OrdinalIgnoreCase);
        var skip = int.TryParse(request.Header("skip_header"), out var k) ? k : 0;
        return new BodyFormat(sep, row, enclose, escape, strict, skip);
    }
}

/// <summary>
/// Reads a Stream Load CSV body the way a BE does, row by row against the target's columns: NULL is an unenclosed
/// <c>\N</c>, enclosed fields double their quotes, a row with the wrong number of values or a VARCHAR value longer
/// (in UTF-8 bytes) than its column is filtered, a value that does not convert is NULL (filtered in strict mode or
/// for NOT NULL). Accepted rows become MariaDB <c>LOAD DATA</c> text (tab separated, backslash escaped).
/// </summary>
internal sealed class StreamLoadBody
{
    public long TotalRows { get; private set; }

    public long LoadedRows { get; private set; }

    public List<string> Errors { get; } = [];

    public MemoryStream Accepted { get; } = new();

    /// <summary>Bytes of accepted rows (kept: the bulk loader closes <see cref="Accepted"/>).</summary>
    public long AcceptedBytes { get; private set; }

    /// <summary>The table columns the body's fields go to, in body order.</summary>
    public IReadOnlyList<string> Columns { get; private init; } = [];

    /// <summary>A body that was only counted (the server's discard mode).</summary>
    public static StreamLoadBody Counted(long rows) => new() { TotalRows = rows, LoadedRows = rows };

    public static StreamLoadBody Read(byte[] body, BodyFormat format, IReadOnlyList<TableColumn> targets)
    {
        var result = new StreamLoadBody { Columns = targets.Select(t => t.Name).ToList() };
        var pos = 0;
        var skipped = 0;
        var fields = new List<(string? Value, bool Enclosed)>();
        while (pos < body.Length)
        {
            var rowStart = pos;
            fields.Clear();
            pos = ReadRow(body, pos, format, fields);
            var raw = Encoding.UTF8.GetString(body, rowStart, Math.Max(0, pos - rowStart - 1)).TrimEnd((char)format.RowDelimiter);
            if (skipped < format.SkipHeader)
            {
                skipped++;
                continue;
            }

            result.TotalRows++;
            var error = result.Accept(fields, format, targets);
            if (error is not null)
            {
                result.Errors.Add($"Error: {error}. Row: {raw}");
            }
            else
            {
                result.LoadedRows++;
            }
        }

        result.Accepted.Position = 0;
        result.AcceptedBytes = result.Accepted.Length;
        return result;
    }

    private string? Accept(List<(string? Value, bool Enclosed)> fields, BodyFormat format, IReadOnlyList<TableColumn> targets)
    {
        if (fields.Count != targets.Count)
        {
            return $"Value count does not match column count. Expect {targets.Count}, but got {fields.Count}";
        }

        var canonical = new string?[targets.Count];
        for (var i = 0; i < targets.Count; i++)
        {
            var column = targets[i];
            var (value, enclosed) = fields[i];
            if (value is null)
            {
                if (!column.Nullable)
                {
                    return $"NULL value in non-nullable column '{column.Name}'";
                }

                continue;
            }

            if (column.IsText)
            {
                var bytes = Encoding.UTF8.GetByteCount(value);
                var max = column.MaxLength ?? 65535;
                if (bytes > max)
                {
                    return $"String '{value}'(length={bytes}) is too long. The max length of '{column.Name}' is {max}";
                }

                canonical[i] = value;
                continue;
            }

            var converted = Convert(value, column);
            if (converted is null)
            {
                if (format.StrictMode)
                {
                    return $"Value '{value}' is invalid for column '{column.Name}' of type {column.ColumnType.ToUpperInvariant()} (strict mode)";
                }

                if (!column.Nullable)
                {
                    return $"Value '{value}' is invalid for NOT NULL column '{column.Name}' of type {column.ColumnType.ToUpperInvariant()}";
                }
            }

            canonical[i] = converted;
            _ = enclosed;
        }

        var line = new StringBuilder();
        for (var i = 0; i < canonical.Length; i++)
        {
            if (i > 0)
            {
                line.Append('\t');
            }

            line.Append(canonical[i] is { } v ? Escape(v) : "\\N");
        }

        line.Append('\n');
        var b = Encoding.UTF8.GetBytes(line.ToString());
        Accepted.Write(b);
        return null;
    }

    /// <summary>The value as MariaDB text for the column's type, or null when it does not convert.</summary>
    private static string? Convert(string value, TableColumn column)
    {
        var inv = CultureInfo.InvariantCulture;
        switch (column.DataType)
        {
            case "tinyint" when column.IsBoolean:
                return value.ToLowerInvariant() switch { "true" or "1" => "1", "false" or "0" => "0", _ => null };
            case "tinyint":
                return sbyte.TryParse(value, NumberStyles.AllowLeadingSign, inv, out var i8) ? i8.ToString(inv) : null;
            case "smallint":
                return short.TryParse(value, NumberStyles.AllowLeadingSign, inv, out var i16) ? i16.ToString(inv) : null;
            case "int" or "mediumint":
                return int.TryParse(value, NumberStyles.AllowLeadingSign, inv, out var i32) ? i32.ToString(inv) : null;
            case "bigint":
                return long.TryParse(value, NumberStyles.AllowLeadingSign, inv, out var i64) ? i64.ToString(inv) : null;
            case "double" or "float":
                return double.TryParse(value, NumberStyles.Float, inv, out var d) && double.IsFinite(d) ? d.ToString("R", inv) : null;
            case "decimal":
            {
                var (p, s) = Precision(column.ColumnType);
                if (!decimal.TryParse(value, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, inv, out var m))
                {
                    return null;
                }

                m = Math.Round(m, s, MidpointRounding.AwayFromZero);
                var integerDigits = decimal.Truncate(Math.Abs(m)).ToString(inv).TrimStart('0').Length;
                return integerDigits > p - s ? null : m.ToString(inv);
            }

            case "date":
                return DateOnly.TryParseExact(value, "yyyy-MM-dd", inv, DateTimeStyles.None, out var day) ? day.ToString("yyyy-MM-dd", inv) : null;
            case "datetime" or "timestamp":
                return DateTime.TryParseExact(value, ["yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm:ss.FFFFFF", "yyyy-MM-dd"], inv, DateTimeStyles.None, out var at)
                    ? at.ToString("yyyy-MM-dd HH:mm:ss.ffffff", inv)
                    : null;
            default:
                return value;
        }
    }

    private static (int P, int S) Precision(string columnType)
    {
        var open = columnType.IndexOf('(', StringComparison.Ordinal);
        var parts = columnType[(open + 1)..columnType.IndexOf(')', StringComparison.Ordinal)].Split(',');
        return (int.Parse(parts[0], CultureInfo.InvariantCulture), parts.Length > 1 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : 0);
    }

    private static string Escape(string v)
    {
        if (v.AsSpan().IndexOfAny("\\\t\n\r\0") < 0)
        {
            return v;
        }

        return v.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\t", "\\t", StringComparison.Ordinal)
            .Replace("\n", "\\n", StringComparison.Ordinal).Replace("\r", "\\r", StringComparison.Ordinal).Replace("\0", "\\0", StringComparison.Ordinal);
    }

    /// <summary>Reads one row's fields; returns the position after its delimiter.</summary>
    private static int ReadRow(byte[] b, int pos, BodyFormat f, List<(string? Value, bool Enclosed)> fields)
    {
        var field = new MemoryStream();
        while (true)
        {
            field.SetLength(0);
            var enclosed = false;
            if (f.Enclose is { } q && pos < b.Length && b[pos] == q)
            {
                enclosed = true;
                pos++;
                while (pos < b.Length)
                {
                    if (f.Escape is { } esc && b[pos] == esc && pos + 1 < b.Length)
                    {
                        field.WriteByte(b[pos + 1]);
                        pos += 2;
                        continue;
                    }

                    if (b[pos] == q)
                    {
                        if (pos + 1 < b.Length && b[pos + 1] == q)
                        {
                            field.WriteByte(q);
                            pos += 2;
                            continue;
                        }

                        pos++;
                        break;
                    }

                    field.WriteByte(b[pos++]);
                }
            }

            if (!enclosed && pos + 1 < b.Length && b[pos] == (byte)'\\' && b[pos + 1] == (byte)'N' &&
                (pos + 2 == b.Length || b[pos + 2] == f.Separator || b[pos + 2] == f.RowDelimiter))
            {
                // NULL, whatever the escape character: read before escapes are undone.
                fields.Add((null, false));
                pos += 2;
                if (pos >= b.Length || b[pos++] == f.RowDelimiter)
                {
                    return pos;
                }

                continue;
            }

            // Unenclosed text (or what follows a closing quote up to the separator).
            while (pos < b.Length && b[pos] != f.Separator && b[pos] != f.RowDelimiter)
            {
                if (!enclosed && f.Escape is { } esc && b[pos] == esc && pos + 1 < b.Length)
                {
                    field.WriteByte(b[pos + 1]);
                    pos += 2;
                    continue;
                }

                field.WriteByte(b[pos++]);
            }

            var text = Encoding.UTF8.GetString(field.GetBuffer(), 0, (int)field.Length);
            fields.Add((!enclosed && text == "\\N" ? null : text, enclosed));
            if (pos >= b.Length)
            {
                return pos;
            }

            if (b[pos++] == f.RowDelimiter)
            {
                return pos;
            }
        }
    }
}
