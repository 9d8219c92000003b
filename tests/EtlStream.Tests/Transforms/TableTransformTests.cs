using System.Text;
using Apache.Arrow;
using Apache.Arrow.Types;
using EtlStream.Formats.Csv;
using EtlStream.Tables;
using EtlStream.Transforms;

namespace EtlStream.Tests.Transforms;

public class TableTransformTests
{
    private const string Spec = """
        table: t
        trim: true
        columns:
          - name: key
            type: varchar(40)
            computed: { concat: [code, { literal: "X" }, id], separator: "|" }
          - { name: id, type: int64, nullable: false, source: ID }
          - { name: code, type: varchar(8) }
          - { name: amount, type: "decimal(18,2)" }
          - { name: pct, type: "decimal(5,2)" }
          - { name: day, type: date, format: dd-MM-yyyy }
          - { name: at, type: timestamp }
          - { name: flag, type: bool, true: [Y], false: [N] }
          - { name: ratio, type: float64 }
          - { name: small, type: int8 }
          - { name: note, type: string, trim: false }
          - { name: file, type: string, computed: source_file }
          - { name: loaded, type: date, computed: load_date }
          - { name: tag, type: string, computed: { constant: demo } }
        filter:
          - { column: id, op: ">", value: 1 }
          - { column: code, not_null: true }
        """;

    private static async Task<(RecordBatch Batch, TransformedBatch Owner)> TransformAsync(string spec, string csv)
    {
        var table = TableSpecReader.Read(spec, "spec.yaml");
        var transform = new TableTransform(table, new DateOnly(2026, 11, 24));
        using var parser = new CsvArrowParser(new MemoryStream(Encoding.UTF8.GetBytes(csv)), "in/day1.csv", table.Csv);
        var header = await parser.ReadHeaderAsync();
        var bound = transform.Bind("in/day1.csv", header);
        using var batch = (await parser.ReadBatchAsync())!;
        var result = bound.Apply(batch);
        return (result.Batch, result);
    }

    private const string Header = "ID,Code,Amount,Pct,Day,At,Flag,Ratio,Small,Note\n";

    [Fact]
    public async Task Casts_trims_computes_and_filters_whole_batches()
    {
        var csv = Header
            + "1,  D1 ,1.00,0,01-01-2026,2026-01-01 00:00:00,Y,1.5,1,dropped by id\n"
            + "2,  D2 , -12.345,40.5,24-11-2026,2026-11-24 13:45:59.123456,N,-2e3,-128,  kept  \n"
            + "3,,5,1,01-01-2026,2026-01-01 00:00:00,Y,0,0,dropped by code\n"
            + "4,D4,9999999999999999.99,,29-02-2024,,,,127,\n";
        var (b, owner) = await TransformAsync(Spec, csv);
        using (owner)
        {
            Assert.Equal(2, b.Length);
            Assert.Equal(4, owner.RowsIn);
            Assert.Equal(["key", "id", "code", "amount", "pct", "day", "at", "flag", "ratio", "small", "note", "file", "loaded", "tag"], b.Schema.FieldsList.Select(f => f.Name));

            var key = (StringArray)b.Column(0);
            Assert.Equal("D2|X|2", key.GetString(0)); // trimmed code, literal, separator
            Assert.Equal("D4|X|4", key.GetString(1));

            Assert.Equal([2L, 4L], ((Int64Array)b.Column(1)).Values.ToArray());
            Assert.Equal("D2", ((StringArray)b.Column(2)).GetString(0));

            var amount = (Decimal128Array)b.Column(3);
            Assert.Equal(new Decimal128Type(18, 2), amount.Data.DataType, new DecimalTypeComparer());
            Assert.Equal(-12.35m, amount.GetValue(0)); // half away from zero
            Assert.Equal(9999999999999999.99m, amount.GetValue(1));
            var pct = (Decimal128Array)b.Column(4);
            Assert.Equal(40.5m, pct.GetValue(0));
            Assert.True(pct.IsNull(1));

            var day = (Date32Array)b.Column(5);
            Assert.Equal(new DateOnly(2026, 11, 24), day.GetDateOnly(0));
            Assert.Equal(new DateOnly(2024, 2, 29), day.GetDateOnly(1));

            var at = (TimestampArray)b.Column(6);
            Assert.Equal(new DateTimeOffset(2026, 11, 24, 13, 45, 59, TimeSpan.Zero).AddTicks(1234560), at.GetTimestamp(0));
            Assert.True(at.IsNull(1));

            var flag = (BooleanArray)b.Column(7);
            Assert.False(flag.GetValue(0));
            Assert.True(flag.IsNull(1));

            Assert.Equal(-2000d, ((DoubleArray)b.Column(8)).GetValue(0));
            Assert.Equal([(sbyte)-128, (sbyte)127], ((Int8Array)b.Column(9)).Values.ToArray());
            var note = (StringArray)b.Column(10);
            Assert.Equal("  kept  ", note.GetString(0)); // trim: false on this column
            Assert.True(note.IsNull(1));
            Assert.Equal("day1.csv", ((StringArray)b.Column(11)).GetString(1));
            Assert.Equal(new DateOnly(2026, 11, 24), ((Date32Array)b.Column(12)).GetDateOnly(0));
            Assert.Equal("demo", ((StringArray)b.Column(13)).GetString(1));
        }
    }

    /// <summary>The spec with <c>on_error: fail_file</c>: the first bad value throws, with where and why.</summary>
    private static readonly string FailFileSpec = Spec.Replace("trim: true", "trim: true\non_error: fail_file", StringComparison.Ordinal);

    [Theory]
    [InlineData("2,D2,12.x,1,01-01-2026,,Y,1,1,n", "in/day1.csv:2:3: column 'amount': cannot convert '12.x' to decimal(18,2): not a decimal number")]
    [InlineData("2,D2,12345678901234567.00,1,01-01-2026,,Y,1,1,n", "in/day1.csv:2:3: column 'amount': cannot convert '12345678901234567.00' to decimal(18,2): decimal out of range")]
    [InlineData("2,D2,1,1,31-02-2026,,Y,1,1,n", "in/day1.csv:2:5: column 'day': cannot convert '31-02-2026' to date: not a date in the form dd-MM-yyyy")]
    [InlineData("2,D2,1,1,01-01-2026,,maybe,1,1,n", "in/day1.csv:2:7: column 'flag': cannot convert 'maybe' to bool: expected one of Y, N")]
    [InlineData("2,D2,1,1,01-01-2026,,Y,1,128,n", "in/day1.csv:2:9: column 'small': cannot convert '128' to int8: integer out of range")]
    [InlineData("2,D2,1,1,01-01-2026,2026-1-1 00:00:00,Y,1,1,n", "in/day1.csv:2:6: column 'at': cannot convert '2026-1-1 00:00:00' to timestamp: not a timestamp in the form yyyy-MM-dd HH:mm:ss")]
    [InlineData("2,D2345678X,1,1,01-01-2026,,Y,1,1,n", "in/day1.csv:2:2: column 'code': cannot convert 'D2345678X' to varchar(8): 9 bytes is longer than varchar(8)")]
    [InlineData("x2,D2,1,1,01-01-2026,,Y,1,1,n", "in/day1.csv:2:1: column 'id': cannot convert 'x2' to int64: not an integer")]
    public async Task A_bad_value_names_file_line_field_column_and_value(string row, string message)
    {
        var e = await Assert.ThrowsAsync<DataConversionException>(() => TransformAsync(FailFileSpec, Header + row + "\n"));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public async Task By_default_a_bad_row_is_rejected_with_where_why_and_the_whole_raw_row()
    {
        var csv = Header
            + "2,D2,1.5,1,01-01-2026,,Y,1,1,ok\n"
            + "3,D3,12.x,1,01-01-2026,,Y,1,1,\"bad, amount\"\n"
            + "4,D4,1,1,31-02-2026,,maybe,1,1,two bad values\n"
            + "5,D5,2.5,1,01-01-2026,,N,1,1,ok\n";
        var (b, owner) = await TransformAsync(Spec, csv);
        using (owner)
        {
            Assert.Equal([2L, 5L], ((Int64Array)b.Column(1)).Values.ToArray());
            Assert.Equal(2, owner.Rejected.Count);
            Assert.Equal(new RejectedRow("in/day1.csv", 3, 3, "amount", "conversion", "12.x", "not a decimal number", "3,D3,12.x,1,01-01-2026,,Y,1,1,\"bad, amount\""), owner.Rejected[0]);
            Assert.Equal(("day", 4L, "31-02-2026"), (owner.Rejected[1].Column, owner.Rejected[1].Line, owner.Rejected[1].Value)); // the first broken rule of the row
        }
    }

    [Fact]
    public async Task Null_value_turns_conversion_failures_into_nulls_but_not_null_still_rejects()
    {
        var spec = Spec.Replace("trim: true", "trim: true\non_error: null_value", StringComparison.Ordinal);
        var (b, owner) = await TransformAsync(spec, Header + "2,D2,12.x,1,01-01-2026,,maybe,1,1,n\n" + ",D3,1,1,01-01-2026,,Y,1,1,n\n");
        using (owner)
        {
            Assert.Equal(1, b.Length);
            Assert.True(((Decimal128Array)b.Column(3)).IsNull(0));
            Assert.True(((BooleanArray)b.Column(7)).IsNull(0));
            var rejected = Assert.Single(owner.Rejected);
            Assert.Equal(("id", "not_null", 3L), (rejected.Column, rejected.Rule, rejected.Line));
        }
    }

    [Fact]
    public async Task Null_in_a_not_null_column_is_an_error()
    {
        var spec = "table: t\non_error: fail_file\ncolumns:\n  - { name: id, type: int64, nullable: false }\n";
        var e = await Assert.ThrowsAsync<DataConversionException>(() => TransformAsync(spec, "id\n1\n\"\"\n"));
        Assert.Equal("in/day1.csv:3:1: column 'id': cannot convert '' to int64: not an integer", e.Message);
        var e2 = await Assert.ThrowsAsync<DataConversionException>(() => TransformAsync(spec + "csv: { null: [\"NA\"] }\n", "id\n1\nNA\n"));
        Assert.Equal("in/day1.csv:3:1: column 'id': NULL in a NOT NULL column", e2.Message);
    }

    [Fact]
    public async Task A_missing_source_column_names_the_file_and_what_the_header_has()
    {
        var e = await Assert.ThrowsAsync<SourceSchemaException>(() => TransformAsync(Spec, "ID,Code\n1,x\n"));
        Assert.StartsWith("in/day1.csv: the header has no column for 'amount', 'pct'", e.Message);
        Assert.EndsWith("it has: ID, Code", e.Message);
    }

    [Fact]
    public async Task In_and_comparison_filters_use_typed_values()
    {
        var spec = """
            table: t
            columns:
              - { name: region, type: string, trim: true }
              - { name: amount, type: "decimal(10,2)" }
            filter:
              - { column: region, in: [North, South] }
              - { column: amount, op: ">=", value: "10.5" }
            """;
        var (b, owner) = await TransformAsync(spec, "region,amount\nNorth,10.50\n South ,100\nEast,50\nSouth,10.49\nNorth,\n");
        using (owner)
        {
            Assert.Equal(["North", "South"], Enumerable.Range(0, b.Length).Select(i => ((StringArray)b.Column(0)).GetString(i)));
            Assert.Equal([10.50m, 100m], Enumerable.Range(0, b.Length).Select(i => ((Decimal128Array)b.Column(1)).GetValue(i)!.Value));
        }
    }

    [Fact]
    public async Task Declared_rules_reject_rows_by_rule_and_varchar_overflow_can_truncate()
    {
        var spec = """
            table: t
            columns:
              - { name: code, type: "varchar(4)", overflow: truncate, rules: { unique: true } }
              - { name: region, type: string, rules: { accepted_values: [North, South] } }
              - { name: qty, type: int64, rules: { range: { min: 1, max: 100 } } }
              - { name: day, type: date, format: dd-MM-yyyy, rules: { range: { min: 01-01-2026 } } }
              - { name: email, type: string, rules: { regex: "^[^@]+@[^@]+$", max_length: 12 } }
              - { name: note, type: "varchar(2)", overflow: widen, source: email }
            """;
        var csv = "code,region,qty,day,email\n"
            + "Ağrıx,North,5,01-02-2026,a@b.c\n"      // kept: code truncated to 4 bytes on a character boundary ("Ağr")
            + "B2,East,5,01-02-2026,a@b.c\n"          // accepted_values
            + "C3,South,101,01-02-2026,a@b.c\n"       // range (max)
            + "D4,South,0,01-02-2026,a@b.c\n"         // range (min)
            + "E5,South,5,31-12-2025,a@b.c\n"         // range on a date, in the column's format
            + "F6,South,5,01-02-2026,not-an-email\n"  // regex
            + "G7,South,5,01-02-2026,abc@defghijkl\n" // max_length: 13 characters
            + "Ağrı,South,5,01-02-2026,\n";          // kept: unique is checked on the source text, before truncation
        var (b, owner) = await TransformAsync(spec, csv);
        using (owner)
        {
            Assert.Equal(["Ağr", "Ağr"], Enumerable.Range(0, b.Length).Select(i => ((StringArray)b.Column(0)).GetString(i)));
            Assert.Equal("a@b.c", ((StringArray)b.Column(5)).GetString(0)); // widen keeps a value longer than varchar(2)
            Assert.Equal(
                [("accepted_values", 3L), ("range", 4L), ("range", 5L), ("range", 6L), ("regex", 7L), ("max_length", 8L)],
                owner.Rejected.Select(r => (r.Rule, r.Line)));
            Assert.Equal("not one of the accepted values (North, South)", owner.Rejected[0].Reason);
            Assert.Equal("outside [1, 100]", owner.Rejected[1].Reason);
            Assert.Equal("does not match /^[^@]+@[^@]+$/", owner.Rejected[4].Reason);
        }
    }

    [Fact]
    public async Task Unique_holds_across_batches_and_files_of_one_load()
    {
        var table = TableSpecReader.Read("table: t\ncolumns:\n  - { name: id, type: string, rules: { unique: true } }\n", "s.yaml");
        var transform = new TableTransform(table, new DateOnly(2026, 11, 24));
        var rejected = new List<RejectedRow>();
        foreach (var (file, text) in new[] { ("a.csv", "id\n1\n2\n"), ("b.csv", "id\n3\n1\n") })
        {
            using var parser = new CsvArrowParser(new MemoryStream(Encoding.UTF8.GetBytes(text)), file);
            var bound = transform.Bind(file, await parser.ReadHeaderAsync());
            using var batch = (await parser.ReadBatchAsync())!;
            using var result = bound.Apply(batch);
            rejected.AddRange(result.Rejected);
        }

        var duplicate = Assert.Single(rejected);
        Assert.Equal(("b.csv", 3L, "unique", "1"), (duplicate.File, duplicate.Line, duplicate.Rule, duplicate.Value));
    }

    [Fact]
    public async Task Schema_drift_is_reported_and_strict_fails_the_file()
    {
        const string Spec2 = "table: t\ncolumns:\n  - { name: id, type: int64, source: ID }\n  - { name: name, type: string }\n";
        var table = TableSpecReader.Read(Spec2, "s.yaml");
        var transform = new TableTransform(table, new DateOnly(2026, 11, 24));
        Assert.Empty(transform.Bind("same.csv", ["ID", "NAME"]).Drift); // a column's own name matches any case
        var drifted = transform.Bind("drift.csv", ["Name", "Id", "Extra"]);
        Assert.Equal(["new columns Extra", "renamed case: ID is now Id", "reordered: Name, Id (the spec reads ID, name)"], drifted.Drift);

        // Bound by name, a reordered file loads its values into the right columns.
        using var parser = new CsvArrowParser(new MemoryStream("Name,Id,Extra\nann,7,x\n"u8.ToArray()), "drift.csv");
        var bound = transform.Bind("drift.csv", await parser.ReadHeaderAsync());
        using var batch = (await parser.ReadBatchAsync())!;
        using var result = bound.Apply(batch);
        Assert.Equal(7L, ((Int64Array)result.Batch.Column(0)).GetValue(0));
        Assert.Equal("ann", ((StringArray)result.Batch.Column(1)).GetString(0));

        var strict = new TableTransform(TableSpecReader.Read(Spec2 + "schema_drift: strict\n", "s.yaml"), new DateOnly(2026, 11, 24));
        var e = Assert.Throws<SourceSchemaException>(() => strict.Bind("drift.csv", ["Name", "Id", "Extra"]));
        Assert.Equal("drift.csv: schema drift (schema_drift: strict): new columns Extra; renamed case: ID is now Id; reordered: Name, Id (the spec reads ID, name)", e.Message);
        Assert.Throws<ConfigException>(() => TableSpecReader.Read(Spec2 + "schema_drift: grow\n", "s.yaml"));
    }

    [Fact]
    public async Task Invalid_utf8_is_rejected_even_when_a_character_straddles_two_values()
    {
        var table = TableSpecReader.Read("table: t\ncolumns:\n  - { name: s, type: string }\n  - { name: n, type: int64 }\n", "s.yaml");
        var transform = new TableTransform(table, new DateOnly(2026, 11, 24));
        // Row 2 ends inside "€" (E2 82), row 3 starts with its last byte (AC): the column's bytes are valid taken together.
        byte[] csv = [.. "s,n\n"u8, .. "a\u00e9,1\n"u8, (byte)'b', 0xE2, 0x82, .. ",2\n"u8, 0xAC, (byte)'c', .. ",3\n"u8, 0xFF, .. ",4\nok,5\n"u8];
        using var parser = new CsvArrowParser(new MemoryStream(csv), "bad.csv");
        var bound = transform.Bind("bad.csv", await parser.ReadHeaderAsync());
        using var batch = (await parser.ReadBatchAsync())!;
        using var result = bound.Apply(batch);
        Assert.Equal([1L, 5L], ((Int64Array)result.Batch.Column(1)).Values.ToArray());
        Assert.Equal([(3L, "encoding"), (4L, "encoding"), (5L, "encoding")], result.Rejected.Select(r => (r.Line, r.Rule)));
        Assert.Equal("invalid UTF-8", result.Rejected[0].Reason);
    }

    private sealed class DecimalTypeComparer : IEqualityComparer<IArrowType>
    {
        public bool Equals(IArrowType? x, IArrowType? y) =>
            x is Decimal128Type a && y is Decimal128Type b && a.Precision == b.Precision && a.Scale == b.Scale;

        public int GetHashCode(IArrowType obj) => 0;
    }
}
