using Apache.Arrow;
using Apache.Arrow.Types;
using EtlStream.Formats.Csv;
using EtlStream.Tables;
using EtlStream.Transforms;

namespace EtlStream.Formats.Arrow;

/// <summary>
/// What the columnar formats (Parquet, Arrow IPC) share: the column type a field of theirs becomes without a spec,
/// which fields a spec reads (only those are decoded), and the bytes a batch holds.
/// </summary>
internal static class ArrowColumns
{
    /// <summary>
    /// The column type a field keeps when no spec names one: integers as they are (unsigned ones one size up,
    /// uint64 as decimal(20,0)), every float as float64, decimals as they are (up to 38 digits), date32/date64 as
    /// date, timestamps of any unit as timestamp (microseconds; a time zone's values are UTC), booleans as bool, a
    /// dictionary as its values; anything else readable (strings, binary as hex, times) as a string. Null: a type
    /// that cannot be read (lists, structs, maps).
    /// </summary>
    public static ColumnType? TypeOf(IArrowType type) => type switch
    {
        DictionaryType d => TypeOf(d.ValueType),
        Int8Type => new ColumnType(ColumnKind.Int8),
        Int16Type or UInt8Type => new ColumnType(ColumnKind.Int16),
        Int32Type or UInt16Type => new ColumnType(ColumnKind.Int32),
        Int64Type or UInt32Type => new ColumnType(ColumnKind.Int64),
        UInt64Type => new ColumnType(ColumnKind.Decimal, 20, 0),
        HalfFloatType or FloatType or DoubleType => new ColumnType(ColumnKind.Float64),
        Decimal32Type t => new ColumnType(ColumnKind.Decimal, t.Precision, t.Scale),
        Decimal64Type t => new ColumnType(ColumnKind.Decimal, t.Precision, t.Scale),
        Decimal128Type t => new ColumnType(ColumnKind.Decimal, t.Precision, t.Scale),
        BooleanType => new ColumnType(ColumnKind.Bool),
        Date32Type or Date64Type => new ColumnType(ColumnKind.Date),
        TimestampType => new ColumnType(ColumnKind.Timestamp),
        _ when TypedColumnText.Supports(type) => ColumnType.String,
        _ => null,
    };

    /// <summary>
    /// Which fields of <paramref name="header"/> a spec's source columns read, matched as the transform binds them
    /// (the exact name, a unique name made for a repeated one, or ignoring case): the others are never decoded.
    /// </summary>
    public static bool[] Needed(IReadOnlyList<string> header, TableSpec spec)
    {
        var needed = new bool[header.Count];
        if (spec.InferColumns)
        {
            return needed; // only the header is read before the columns are known
        }

        var names = CsvHeader.Resolve(header);
        foreach (var c in spec.Columns)
        {
            if (c.Computed is not null)
            {
                continue;
            }

            for (var i = 0; i < header.Count; i++)
            {
                if (string.Equals(names.Raw[i], c.SourceName, StringComparison.OrdinalIgnoreCase) || string.Equals(names.Names[i], c.SourceName, StringComparison.OrdinalIgnoreCase))
                {
                    needed[i] = true;
                }
            }
        }

        return needed;
    }

    /// <summary>Fails naming every read field whose type cannot be read.</summary>
    public static void CheckReadable(string source, Schema schema, bool[] needed)
    {
        var unreadable = new List<string>();
        for (var i = 0; i < needed.Length; i++)
        {
            var field = schema.FieldsList[i];
            if (needed[i] && !TypedColumnText.Supports(field.DataType))
            {
                unreadable.Add($"'{PrintableText.Escape(field.Name)}' ({Describe(field.DataType)})");
            }
        }

        if (unreadable.Count > 0)
        {
            throw new SourceSchemaException(source, $"cannot read column {string.Join(", ", unreadable)}: lists, structs and maps are not supported; leave them out of the spec");
        }
    }

    /// <summary>A type as Arrow names it, with its parameters: <c>list&lt;int32&gt;</c>, <c>timestamp[ns]</c>.</summary>
    public static string Describe(IArrowType type) => type switch
    {
        ListType l => $"list<{Describe(l.ValueDataType)}>",
        LargeListType l => $"large_list<{Describe(l.ValueDataType)}>",
        StructType s => $"struct<{string.Join(", ", s.Fields.Select(f => $"{f.Name}: {Describe(f.DataType)}"))}>",
        MapType m => $"map<{Describe(m.KeyField.DataType)}, {Describe(m.ValueField.DataType)}>",
        TimestampType t => $"timestamp[{t.Unit.ToString().ToLowerInvariant()}]",
        Decimal128Type d => $"decimal({d.Precision},{d.Scale})",
        _ => type.Name,
    };

    /// <summary>The bytes of every buffer behind <paramref name="arrays"/>, children and dictionaries included.</summary>
    public static long Bytes(IEnumerable<IArrowArray> arrays)
    {
        long bytes = 0;
        foreach (var array in arrays)
        {
            bytes += Bytes(array.Data);
        }

        return bytes;
    }

    private static long Bytes(ArrayData data)
    {
        long bytes = 0;
        foreach (var b in data.Buffers)
        {
            bytes += b.Length;
        }

        foreach (var child in data.Children ?? [])
        {
            bytes += Bytes(child);
        }

        return data.Dictionary is { } d ? bytes + Bytes(d) : bytes;
    }
}
