using Apache.Arrow;
using Apache.Arrow.Types;
using EtlStream.Tables;

namespace EtlStream.Tests.Support;

/// <summary>Hand-built batches covering every column type the engine produces, with the awkward values.</summary>
public static class TestBatches
{
    public const string TrickyText = "quote \" comma , semicolon ; newline \n crlf \r\n tab \t end";

    public static readonly Schema AllTypesSchema = new Schema.Builder()
        .Field(new Field("id", Int32Type.Default, nullable: false))
        .Field(new Field("name", StringType.Default, nullable: true, [new(ArrowTypes.MaxLengthKey, "40")]))
        .Field(new Field("i8", Int8Type.Default, nullable: true))
        .Field(new Field("i16", Int16Type.Default, nullable: true))
        .Field(new Field("i64", Int64Type.Default, nullable: true))
        .Field(new Field("amount", new Decimal128Type(18, 2), nullable: true))
        .Field(new Field("ratio", DoubleType.Default, nullable: true))
        .Field(new Field("flag", BooleanType.Default, nullable: true))
        .Field(new Field("day", Date32Type.Default, nullable: true))
        .Field(new Field("at", ArrowTypes.Timestamp, nullable: true))
        .Build();

    /// <summary>The DuckDB type names (DESCRIBE) the all-types columns should come back as.</summary>
    public static readonly (string Name, string Type)[] AllTypesDuckDb =
    [
        ("id", "INTEGER"), ("name", "VARCHAR"), ("i8", "TINYINT"), ("i16", "SMALLINT"), ("i64", "BIGINT"),
        ("amount", "DECIMAL(18,2)"), ("ratio", "DOUBLE"), ("flag", "BOOLEAN"), ("day", "DATE"), ("at", "TIMESTAMP"),
    ];

    public sealed record Row(
        int Id, string? Name, sbyte? I8, short? I16, long? I64, decimal? Amount, double? Ratio, bool? Flag, DateOnly? Day, DateTime? At);

    /// <summary>Five rows: extremes, multi-byte text, empty string, quotes/newlines, all-null.</summary>
    public static readonly Row[] AllTypesRows =
    [
        new(1, "Ağrı Dağı", 127, 32767, long.MaxValue, 9999999999999999.99m, 1.5, true, new DateOnly(1970, 1, 1), new DateTime(1970, 1, 1)),
        new(2, "東京", -128, -32768, long.MinValue, -0.01m, -2.5e-300, false, new DateOnly(2026, 11, 24),
            new DateTime(2026, 11, 24, 13, 45, 30).AddTicks(1234560)),
        new(3, "", 0, 0, 0, -9999999999999999.99m, double.MaxValue, true, new DateOnly(1900, 3, 1),
            new DateTime(1969, 12, 31, 23, 59, 59).AddTicks(9999990)),
        new(4, TrickyText, 1, -1, 1, 0.10m, 0.0, false, new DateOnly(9999, 12, 31), new DateTime(2000, 2, 29, 0, 0, 0, 1)),
        new(5, null, null, null, null, null, null, null, null, null),
    ];

    public static RecordBatch AllTypes() => Build(AllTypesRows);

    public static RecordBatch Build(IReadOnlyList<Row> rows)
    {
        var id = new Int32Array.Builder();
        var name = new StringArray.Builder();
        var i8 = new Int8Array.Builder();
        var i16 = new Int16Array.Builder();
        var i64 = new Int64Array.Builder();
        var amount = new Decimal128Array.Builder(new Decimal128Type(18, 2));
        var ratio = new DoubleArray.Builder();
        var flag = new BooleanArray.Builder();
        var day = new Date32Array.Builder();
        var at = new TimestampArray.Builder(ArrowTypes.Timestamp);
        foreach (var r in rows)
        {
            id.Append(r.Id);
            if (r.Name is null) { name.AppendNull(); } else { name.Append(r.Name); }
            if (r.I8 is { } a) { i8.Append(a); } else { i8.AppendNull(); }
            if (r.I16 is { } b) { i16.Append(b); } else { i16.AppendNull(); }
            if (r.I64 is { } c) { i64.Append(c); } else { i64.AppendNull(); }
            if (r.Amount is { } d) { amount.Append(d); } else { amount.AppendNull(); }
            if (r.Ratio is { } e) { ratio.Append(e); } else { ratio.AppendNull(); }
            if (r.Flag is { } f) { flag.Append(f); } else { flag.AppendNull(); }
            if (r.Day is { } g) { day.Append(g); } else { day.AppendNull(); }
            if (r.At is { } h) { at.Append(new DateTimeOffset(h, TimeSpan.Zero)); } else { at.AppendNull(); }
        }

        return new RecordBatch(AllTypesSchema,
            [id.Build(), name.Build(), i8.Build(), i16.Build(), i64.Build(), amount.Build(), ratio.Build(), flag.Build(), day.Build(), at.Build()],
            rows.Count);
    }

    /// <summary>A batch of <paramref name="count"/> simple rows with ids starting at <paramref name="firstId"/>.</summary>
    public static RecordBatch Sequence(int firstId, int count)
    {
        var rows = new Row[count];
        for (var i = 0; i < count; i++)
        {
            var n = firstId + i;
            rows[i] = new Row(n, "row " + n, (sbyte)(n % 100), (short)n, n * 1000L, n / 100m, n / 4.0, n % 2 == 0,
                new DateOnly(2026, 1, 1).AddDays(n % 365), new DateTime(2026, 1, 1).AddSeconds(n));
        }

        return Build(rows);
    }

    /// <summary>Asserts that rows read back (columns in AllTypesSchema order, ordered by id) equal <paramref name="expected"/>.</summary>
    public static void AssertRows(IReadOnlyList<Row> expected, List<object?[]> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            var e = expected[i];
            var a = actual[i];
            Assert.Equal(e.Id, a[0]);
            Assert.Equal(e.Name, a[1]);
            Assert.Equal(e.I8, (sbyte?)a[2]);
            Assert.Equal(e.I16, (short?)a[3]);
            Assert.Equal(e.I64, (long?)a[4]);
            Assert.Equal(e.Amount, (decimal?)a[5]);
            Assert.Equal(e.Ratio, (double?)a[6]);
            Assert.Equal(e.Flag, (bool?)a[7]);
            Assert.Equal(e.Day, ToDateOnly(a[8]));
            Assert.Equal(e.At, (DateTime?)a[9]);
        }
    }

    private static DateOnly? ToDateOnly(object? value) => value switch
    {
        null => null,
        DateOnly d => d,
        DateTime dt => DateOnly.FromDateTime(dt),
        _ => throw new InvalidCastException($"DATE came back as {value.GetType()}"),
    };
}
