using System.Buffers;
using System.Text;
using EtlStream.Formats.Csv;
using EtlStream.Sinks;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Formats;

public sealed class CsvArrowWriterTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Writes_the_stream_load_body_format()
    {
        using var batch = TestBatches.AllTypes();
        var body = new ArrayBufferWriter<byte>();
        new CsvArrowWriter().Write(batch, body);
        var lines = Encoding.UTF8.GetString(body.WrittenSpan).Split('\n');

        Assert.Equal("1\tAğrı Dağı\t127\t32767\t9223372036854775807\t9999999999999999.99\t1.5\ttrue\t1970-01-01\t1970-01-01 00:00:00", lines[0]);
        Assert.Equal("2\t東京\t-128\t-32768\t-9223372036854775808\t-0.01\t-2.5E-300\tfalse\t2026-11-24\t2026-11-24 13:45:30.123456", lines[1]);
        Assert.Contains(lines, l => l.StartsWith("3\t\t", StringComparison.Ordinal)); // empty string is empty, not \N
        Assert.Contains(lines, l => l.EndsWith("\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N", StringComparison.Ordinal)); // NULLs are \N
    }

    [Fact]
    public void BackslashTsv_EscapesInsteadOfEnclosing_AndWritesBooleansAsDigits()
    {
        var schema = new Apache.Arrow.Schema.Builder()
            .Field(new Apache.Arrow.Field("s", Apache.Arrow.Types.StringType.Default, true))
            .Field(new Apache.Arrow.Field("b", Apache.Arrow.Types.BooleanType.Default, true))
            .Build();
        using var batch = new Apache.Arrow.RecordBatch(schema,
        [
            new Apache.Arrow.StringArray.Builder().Append("a\tb\nc\rd\\e\0f \"q\" ü").Append("\\N").Append("").AppendNull().Build(),
            new Apache.Arrow.BooleanArray.Builder().Append(true).Append(false).AppendNull().Append(true).Build(),
        ], 4);
        var body = new ArrayBufferWriter<byte>();

        new CsvArrowWriter(CsvWriteOptions.BackslashTsv).Write(batch, body);

        Assert.Equal("a\\tb\\nc\\rd\\\\e\\0f \"q\" ü\t1\n\\\\N\t0\n\t\\N\n\\N\t1\n", Encoding.UTF8.GetString(body.WrittenSpan));
    }

    [Theory]
    [InlineData(0, 2, "0.00")]
    [InlineData(5, 2, "0.05")]
    [InlineData(-5, 2, "-0.05")]
    [InlineData(123456, 2, "1234.56")]
    [InlineData(7, 0, "7")]
    public void Decimals_keep_their_scale(long unscaled, int scale, string text)
    {
        Span<byte> dest = stackalloc byte[48];
        var n = CsvArrowWriter.WriteDecimal(unscaled, scale, dest);
        Assert.Equal(text, Encoding.ASCII.GetString(dest[..n]));
    }

    [Fact]
    public void A_38_digit_decimal_is_written_whole()
    {
        Span<byte> dest = stackalloc byte[48];
        var value = Int128.Parse("-12345678901234567890123456789012345678", System.Globalization.CultureInfo.InvariantCulture);
        var n = CsvArrowWriter.WriteDecimal(value, 4, dest);
        Assert.Equal("-1234567890123456789012345678901234.5678", Encoding.ASCII.GetString(dest[..n]));
    }

    [Fact]
    public async Task The_csv_sink_round_trips_every_value_through_an_independent_reader()
    {
        var path = _dir.File("out/all.csv");
        using var batch = TestBatches.AllTypes();
        await using (var sink = SinkTarget.Create($"csv:{path}", "t"))
        {
            await sink.OpenAsync(TestBatches.AllTypesSchema, default);
            await sink.WriteAsync(new SinkChunk([batch]), default);
            await sink.CompleteAsync(default);
        }

        var columns = string.Join(", ", TestBatches.AllTypesDuckDb.Select(c => $"'{c.Name}': '{c.Type}'"));
        var rows = DuckDbQuery.Rows($"SELECT * FROM read_csv({DuckDbQuery.Literal(path)}, header = true, nullstr = '\\N', quote = '\"', escape = '\"', columns = {{{columns}}}) ORDER BY id");
        TestBatches.AssertRows(TestBatches.AllTypesRows, rows);
    }

    [Fact]
    public async Task An_abandoned_csv_sink_leaves_no_file()
    {
        using var batch = TestBatches.AllTypes();
        await using (var sink = SinkTarget.Create($"csv:{_dir.File("x.csv")}", "t"))
        {
            await sink.OpenAsync(TestBatches.AllTypesSchema, default);
            await sink.WriteAsync(new SinkChunk([batch]), default);
        }

        Assert.Empty(_dir.Files());
    }
}
