using System.Text;
using EtlStream.Formats.Csv;
using EtlStream.Pipeline;
using EtlStream.Sinks;
using EtlStream.Sources.Local;
using EtlStream.Tables;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Formats;

/// <summary>UTF-16 and UTF-32 files with a byte-order mark load their exact text; UTF-16 without one is refused.</summary>
public sealed class CsvTextEncodingTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static Encoding For(string name) => name switch
    {
        "UTF-16LE" => new UnicodeEncoding(bigEndian: false, byteOrderMark: true),
        "UTF-16BE" => new UnicodeEncoding(bigEndian: true, byteOrderMark: true),
        "UTF-32LE" => new UTF32Encoding(bigEndian: false, byteOrderMark: true),
        "UTF-32BE" => new UTF32Encoding(bigEndian: true, byteOrderMark: true),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    private async Task<(string Input, LoadResult Result, string Db)> LoadAsync(byte[] bytes, string? specYaml = null)
    {
        var input = _dir.File("day.csv");
        await File.WriteAllBytesAsync(input, bytes);
        var db = _dir.File("w.duckdb");
        var pipeline = new LoadPipeline(new LoadOptions());
        await using var sink = SinkTarget.Create($"duckdb:{db}?table=t", "t");
        var result = await pipeline.RunAsync(LocalFileSource.List(input), specYaml is null ? null : TableSpecReader.Read(specYaml, "spec.yaml"), sink, default);
        return (input, result, db);
    }

    private static byte[] Encode(string text, Encoding encoding) => [.. encoding.GetPreamble(), .. encoding.GetBytes(text)];

    [Theory]
    [InlineData("UTF-16LE")]
    [InlineData("UTF-16BE")]
    [InlineData("UTF-32LE")]
    [InlineData("UTF-32BE")]
    public async Task A_file_with_a_byte_order_mark_loads_its_exact_text(string encoding)
    {
        const string Csv = "id,name,note\r\n1,Müller,\"a,b\"\r\n2,Şahin 😀,\"two\nlines\"\r\n3,日本,\r\n";

        var (_, result, db) = await LoadAsync(Encode(Csv, For(encoding)), "table: t\ncolumns:\n  - { name: id, type: int64 }\n  - { name: name, type: varchar(12) }\n  - { name: note, type: string }\n");

        Assert.Equal((3L, 3L), (result.RowsRead, result.RowsLoaded));
        Assert.Equal(["id", "name", "note"], DuckDbQuery.Describe(db, "t").ConvertAll(c => c.Name));
        Assert.Equal(
            [[1L, "Müller", "a,b"], [2L, "Şahin 😀", "two\nlines"], [3L, "日本", null]],
            DuckDbQuery.Rows(db, "SELECT id, name, note FROM t ORDER BY id"));
    }

    [Theory]
    [InlineData("UTF-16LE")]
    [InlineData("UTF-16BE")]
    public async Task A_large_utf16_file_streams_through_every_buffer_refill(string encoding)
    {
        // ~5 MB of UTF-16: several parser buffer refills and transcoder reads, a multi-byte character across each.
        var sb = new StringBuilder("id,name\n");
        for (var i = 1; i <= 200_000; i++)
        {
            sb.Append(i).Append(",ñ").Append(i % 97).Append('\n');
        }

        var (_, result, db) = await LoadAsync(Encode(sb.ToString(), For(encoding)));

        Assert.Equal(200_000L, result.RowsLoaded);
        Assert.Equal(
            [[200_000L, 20_000_100_000L, 200_000L, 3L]],
            DuckDbQuery.Rows(db, "SELECT count(*), sum(id::BIGINT)::BIGINT, count(*) FILTER (WHERE name = 'ñ' || (id::BIGINT % 97)), max(length(name)) FROM t"));
    }

    [Theory]
    [InlineData(false, "UTF-16LE", "after", "utf-16")]
    [InlineData(true, "UTF-16BE", "before", "utf-16be")]
    public async Task Utf16_without_a_byte_order_mark_is_refused_naming_the_file(bool bigEndian, string name, string where, string option)
    {
        var bytes = new UnicodeEncoding(bigEndian, byteOrderMark: false).GetBytes("id,name\n1,a\n");

        var e = await Assert.ThrowsAsync<CsvFormatException>(() => LoadAsync(bytes));

        Assert.Equal($"{_dir.File("day.csv")}:1:1: the file looks like {name} without a byte-order mark (a NUL {where} each character): pass --encoding {option} (csv.encoding in a spec) or re-encode it as UTF-8", e.Message);
    }

    [Fact]
    public async Task An_unpaired_surrogate_in_utf16_fails_the_file_instead_of_loading_a_replacement_character()
    {
        byte[] bytes = [0xFF, 0xFE, .. Encoding.Unicode.GetBytes("id,name\n1,a\n2,"), 0x00, 0xD8, .. Encoding.Unicode.GetBytes("x\n")];

        var e = await Assert.ThrowsAsync<CsvFormatException>(() => LoadAsync(bytes));

        Assert.Equal($"{_dir.File("day.csv")}:1:1: not valid UTF-16 text at or after this line (an unpaired surrogate or a cut last character)", e.Message);
    }
}
