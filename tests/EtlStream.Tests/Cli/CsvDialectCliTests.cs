using System.Text;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Cli;

/// <summary><c>load --delimiter/--quote/--no-header/--encoding</c>: a TSV, a headerless or a Latin-1 file loads without a spec.</summary>
public sealed class CsvDialectCliTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private Task<(int ExitCode, string Out, string Err)> RunAsync(params string[] args) => CliTests.RunAsync(_dir.Path, args);

    [Fact]
    public async Task A_tsv_without_flags_warns_and_with_delimiter_tab_loads_two_columns()
    {
        await File.WriteAllTextAsync(_dir.File("day.tsv"), "id\trate\n1\t2.5\n2\t3.5\n");

        var plain = await RunAsync("load", "day.tsv", "--to", "duckdb:one.duckdb", "--no-progress");
        var tab = await RunAsync("load", "day.tsv", "--to", "duckdb:two.duckdb", "--no-progress", "--delimiter", "\\t");

        Assert.Equal((0, "warn: day.tsv: every row has one column, but the header holds tabs: use --delimiter '\\t' (or csv.delimiter in the spec)\n"), (plain.ExitCode, plain.Err));
        Assert.Equal([("id\trate", "VARCHAR")], DuckDbQuery.Describe(_dir.File("one.duckdb"), "day"));
        Assert.Equal((0, ""), (tab.ExitCode, tab.Err));
        Assert.Matches(@"^loaded 2 rows \(2 read\) from 1 file in [\d.]+ s: 20 bytes at [\d.,]+ (bytes|kB)/s, peak memory [\d,]+ MB\n$", tab.Out);
        Assert.Equal([["1", "2.5"], ["2", "3.5"]], DuckDbQuery.Rows(_dir.File("two.duckdb"), "SELECT id, rate FROM day ORDER BY id"));
    }

    [Fact]
    public async Task No_header_quote_and_encoding_flags_override_the_spec()
    {
        // The spec says comma, double quote, header, UTF-8; the flags say otherwise and win.
        await File.WriteAllTextAsync(_dir.File("s.yaml"), "table: t\ntrim: true\n");
        await File.WriteAllBytesAsync(_dir.File("day.csv"), [.. "1|'M"u8, 0xFC, .. "ller|x'\n2| b \n"u8]);

        var (code, stdout, stderr) = await RunAsync("load", "day.csv", "--table", "s.yaml", "--to", "duckdb:w.duckdb", "--no-progress",
            "--delimiter", "|", "--quote", "'", "--no-header", "--encoding", "latin1");

        Assert.Equal((0, ""), (code, stderr));
        Assert.StartsWith("loaded 2 rows (2 read) from 1 file in ", stdout, StringComparison.Ordinal);
        Assert.Equal([["1", "Müller|x"], ["2", "b"]], DuckDbQuery.Rows(_dir.File("w.duckdb"), "SELECT column1, column2 FROM t ORDER BY column1"));
    }

    [Fact]
    public async Task Bad_dialect_flags_exit_2_listing_each()
    {
        await File.WriteAllTextAsync(_dir.File("day.csv"), "a,b\n1,2\n");

        var (code, stdout, stderr) = await RunAsync("load", "day.csv", "--to", "duckdb:w.duckdb", "--no-progress", "--delimiter", ";;", "--quote", "\n", "--encoding", "ebcdic");
        var same = await RunAsync("load", "day.csv", "--to", "duckdb:w.duckdb", "--no-progress", "--delimiter", "\"");

        Assert.Equal((2, ""), (code, stdout));
        Assert.Equal(
            "error: --delimiter: expected one ASCII character (or \\t / tab), got ';;'\n" +
            "error: --quote: must not be a line break\n" +
            "error: --encoding: unknown encoding 'ebcdic' (expected utf-8, latin1 (iso-8859-1), windows-1252 (cp1252), utf-16 (utf-16le), utf-16be)\n",
            stderr);
        Assert.Equal((2, "error: --delimiter/--quote: the delimiter and the quote are both '\"' (set one of them to something else; the default quote is '\"')\n"), (same.ExitCode, same.Err));
        Assert.False(File.Exists(_dir.File("w.duckdb")));
    }

    [Fact]
    public async Task A_utf16_file_without_a_byte_order_mark_loads_with_encoding_utf16()
    {
        await File.WriteAllBytesAsync(_dir.File("day.csv"), Encoding.Unicode.GetBytes("id,name\n1,日本\n"));

        var refused = await RunAsync("load", "day.csv", "--to", "duckdb:no.duckdb", "--no-progress");
        var (code, _, stderr) = await RunAsync("load", "day.csv", "--to", "duckdb:w.duckdb", "--no-progress", "--encoding", "utf-16");

        Assert.Equal((1, "error: day.csv:1:1: the file looks like UTF-16LE without a byte-order mark (a NUL after each character): pass --encoding utf-16 (csv.encoding in a spec) or re-encode it as UTF-8\n"), (refused.ExitCode, refused.Err));
        Assert.Equal((0, ""), (code, stderr));
        Assert.Equal([["1", "日本"]], DuckDbQuery.Rows(_dir.File("w.duckdb"), "SELECT id, name FROM day"));
    }
}
