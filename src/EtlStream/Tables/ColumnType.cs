namespace EtlStream.Tables;

public enum ColumnKind
{
    String,
    Int8,
    Int16,
    Int32,
    Int64,
    Decimal,
    Float64,
    Bool,
    Date,
    Timestamp,
}

/// <summary>A column's declared type: <c>varchar(20)</c>, <c>decimal(18,2)</c>, <c>int64</c>, …</summary>
public readonly record struct ColumnType(ColumnKind Kind, int Precision = 0, int Scale = 0, int? MaxLength = null)
{
    public static readonly ColumnType String = new(ColumnKind.String);

    public override string ToString() => Kind switch
    {
        ColumnKind.String => MaxLength is { } n ? $"varchar({n})" : "string",
        ColumnKind.Decimal => $"decimal({Precision},{Scale})",
        ColumnKind.Float64 => "float64",
        _ => Kind.ToString().ToLowerInvariant(),
    };

    /// <summary>Parses a type name; returns null with a reason when it is not one we know.</summary>
    public static ColumnType? TryParse(string text, out string? error)
    {
        error = null;
        var t = text.Trim().ToLowerInvariant();
        switch (t)
        {
            case "string" or "text" or "utf8": return String;
            case "int8" or "tinyint": return new(ColumnKind.Int8);
            case "int16" or "smallint": return new(ColumnKind.Int16);
            case "int32" or "int": return new(ColumnKind.Int32);
            case "int64" or "bigint": return new(ColumnKind.Int64);
            case "float64" or "double": return new(ColumnKind.Float64);
            case "bool" or "boolean": return new(ColumnKind.Bool);
            case "date": return new(ColumnKind.Date);
            case "timestamp" or "datetime": return new(ColumnKind.Timestamp);
        }

        if (TryArgs(t, "varchar", out var args) && args.Length == 1 && args[0] > 0)
        {
            return new(ColumnKind.String, MaxLength: args[0]);
        }

        if (TryArgs(t, "decimal", out args) && args.Length is 1 or 2)
        {
            int p = args[0], s = args.Length == 2 ? args[1] : 0;
            if (p is < 1 or > 38 || s < 0 || s > p)
            {
                error = $"decimal precision must be 1..38 and scale 0..precision, got '{text}'";
                return null;
            }

            return new(ColumnKind.Decimal, p, s);
        }

        error = $"unknown type '{text}' (expected string, varchar(n), int8, int16, int32, int64, decimal(p,s), float64, bool, date, timestamp)";
        return null;
    }

    private static bool TryArgs(string t, string name, out int[] args)
    {
        args = [];
        if (!t.StartsWith(name + "(", StringComparison.Ordinal) || !t.EndsWith(')'))
        {
            return false;
        }

        var parts = t[(name.Length + 1)..^1].Split(',');
        args = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i].Trim(), out args[i]))
            {
                return false;
            }
        }

        return true;
    }
}
