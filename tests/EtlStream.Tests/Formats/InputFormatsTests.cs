using EtlStream.Formats;
using EtlStream.Formats.Csv;
using EtlStream.Tables;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Formats;

/// <summary>The format seam (issue 15/16): formats are found by kind or recognised by content, CSV by default.</summary>
public sealed class InputFormatsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Every_registered_format_is_found_by_its_kind_ignoring_case()
    {
        foreach (var format in InputFormats.All)
        {
            Assert.Same(format, InputFormats.Find(format.Kind.ToUpperInvariant()));
        }

        Assert.Null(InputFormats.Find("xlsx"));
        Assert.StartsWith("csv", InputFormats.Kinds, StringComparison.Ordinal);
    }

    [Fact]
    public void Content_no_format_claims_is_read_as_csv()
    {
        Assert.Same(CsvFormat.Instance, InputFormats.Recognize("id,name\n1,ann\n"u8));
        Assert.Same(CsvFormat.Instance, InputFormats.Recognize([]));
    }

    [Fact]
    public async Task A_spec_naming_a_format_is_obeyed_and_the_stream_is_read_from_its_first_byte()
    {
        var spec = new TableSpec { Name = "t", Columns = [], InferColumns = true, Format = "csv" };
        using var input = new MemoryStream("a,b\n1,2\n"u8.ToArray());
        var (format, stream) = await InputFormats.ChooseAsync(input, spec, default);
        Assert.Same(CsvFormat.Instance, format);
        using var reader = format.Open(stream, "x.csv", spec);
        Assert.Equal(["a", "b"], await reader.ReadHeaderAsync(default));
    }

    [Fact]
    public async Task Recognising_a_format_consumes_nothing_the_reader_needs()
    {
        var spec = new TableSpec { Name = "t", Columns = [], InferColumns = true };
        var text = "a,b\n" + string.Concat(Enumerable.Range(0, 3000).Select(i => $"{i},{i * 2}\n"));
        using var input = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text));
        var (format, stream) = await InputFormats.ChooseAsync(input, spec, default);
        using var reader = format.Open(stream, "x.csv", spec);
        Assert.Equal(["a", "b"], await reader.ReadHeaderAsync(default));
        var rows = 0;
        while (await reader.ReadBatchAsync(default) is { } batch)
        {
            using (batch)
            {
                rows += batch.RowCount;
            }
        }

        Assert.Equal(3000, rows);
        Assert.Equal(text.Length, reader.BytesConsumed);
    }

    [Fact]
    public void An_unknown_format_in_a_spec_is_an_error_naming_the_known_ones()
    {
        var e = Assert.Throws<ConfigException>(() => TableSpecReader.Read("table: t\nformat: xlsx\ncolumns:\n  - { name: a, type: string }\n", "t.yaml"));
        Assert.Contains($"t.yaml: format: unknown format 'xlsx' (expected {InputFormats.Kinds}; without format: it is recognised from each file's content)", e.Message);
    }

    [Fact]
    public async Task Load_with_an_unknown_format_flag_exits_2_naming_the_known_ones()
    {
        var input = _dir.File("a.csv");
        await File.WriteAllTextAsync(input, "a\n1\n");
        var (code, _, err) = await CliProcess.RunAsync(_dir.Path, null, "load", input, "--to", $"parquet:{_dir.File("o.parquet")}", "--format", "xlsx", "--no-progress");
        Assert.Equal(2, code);
        Assert.Contains($"--format: unknown format 'xlsx' (expected {InputFormats.Kinds})", err);
    }
}
