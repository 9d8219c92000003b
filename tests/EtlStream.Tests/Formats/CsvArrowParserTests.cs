using System.Text;
using EtlStream.Formats.Csv;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Formats;

public class CsvArrowParserTests
{
    private sealed record Parsed(IReadOnlyList<string> Header, List<string?[]> Rows, List<long> Lines, int Batches);

    private static async Task<Parsed> ParseAsync(string csv, CsvOptions? options = null, int chunk = int.MaxValue) =>
        await ParseBytesAsync(Encoding.UTF8.GetBytes(csv), options, chunk);

    private static async Task<Parsed> ParseBytesAsync(byte[] bytes, CsvOptions? options = null, int chunk = int.MaxValue)
    {
        using var parser = new CsvArrowParser(new TrickleStream(bytes, chunk), "test.csv", options);
        var header = await parser.ReadHeaderAsync();
        var rows = new List<string?[]>();
        var lines = new List<long>();
        var batches = 0;
        while (await parser.ReadBatchAsync() is { } batch)
        {
            using (batch)
            {
                batches++;
                var columns = Enumerable.Range(0, batch.ColumnCount).Select(batch.Column).ToArray();
                for (var r = 0; r < batch.RowCount; r++)
                {
                    rows.Add([.. columns.Select(c => c.IsNull(r) ? null : c.GetString(r))]);
                    lines.Add(batch.LineOf(r));
                }
            }
        }

        return new Parsed(header, rows, lines, batches);
    }

    private static void AssertRow(string?[] actual, params string?[] expected) =>
        Assert.Equal(expected.AsEnumerable(), actual.AsEnumerable());

    [Fact]
    public async Task Reads_header_and_rows_with_empty_unquoted_fields_as_null()
    {
        var p = await ParseAsync("a,b,c\n1,,x\n2,\"\",y\n");
        Assert.Equal(["a", "b", "c"], p.Header);
        Assert.Equal(2, p.Rows.Count);
        AssertRow(p.Rows[0], "1", null, "x");
        AssertRow(p.Rows[1], "2", "", "y"); // a quoted empty field is an empty string, not NULL
    }

    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(1)]
    [InlineData(3)]
    public async Task Quoted_fields_keep_delimiters_doubled_quotes_and_line_breaks(int chunk)
    {
        var csv = "name,note\n\"Smith, John\",\"He said \"\"hi\"\"\"\n\"multi\nline\",\"crlf\r\ninside\"\nlast,\"\"\"\"\n";
        var p = await ParseAsync(csv, chunk: chunk);
        Assert.Equal(3, p.Rows.Count);
        AssertRow(p.Rows[0], "Smith, John", "He said \"hi\"");
        AssertRow(p.Rows[1], "multi\nline", "crlf\r\ninside");
        AssertRow(p.Rows[2], "last", "\"");
        Assert.Equal([2L, 3L, 6L], p.Lines); // the record after two embedded line breaks starts three lines on
    }

    [Theory]
    [InlineData("a,b\r\n1,2\r\n3,4\r\n")]
    [InlineData("a,b\r1,2\r3,4\r")]
    [InlineData("a,b\n1,2\r\n3,4")]
    [InlineData("a,b\r\n1,2\r3,4\n")]
    public async Task Accepts_LF_CRLF_CR_and_mixes_with_or_without_a_final_line_break(string csv)
    {
        foreach (var chunk in new[] { 1, 2, int.MaxValue })
        {
            var p = await ParseAsync(csv, chunk: chunk);
            Assert.Equal(["a", "b"], p.Header);
            Assert.Equal([["1", "2"], ["3", "4"]], p.Rows);
        }
    }

    [Fact]
    public async Task Skips_a_UTF8_byte_order_mark_and_keeps_multibyte_text()
    {
        var bytes = Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes("name\nMüller\n東京\nŞahin\n")).ToArray();
        var p = await ParseBytesAsync(bytes, chunk: 1);
        Assert.Equal(["name"], p.Header);
        Assert.Equal([["Müller"], ["東京"], ["Şahin"]], p.Rows);
    }

    [Fact]
    public async Task Custom_delimiter_quote_and_null_tokens()
    {
        var options = new CsvOptions { Delimiter = (byte)';', Quote = (byte)'\'', NullTokens = ["NULL", "\\N"] };
        var p = await ParseAsync("a;b;c\n'x;y';NULL;\\N\n'';;z\n", options);
        AssertRow(p.Rows[0], "x;y", null, null);
        AssertRow(p.Rows[1], "", "", "z"); // with explicit tokens, an empty field is an empty string
    }

    [Fact]
    public async Task Without_a_header_columns_are_numbered_and_the_first_record_is_data()
    {
        var p = await ParseAsync("1,2\n3,4\n", new CsvOptions { HasHeader = false });
        Assert.Equal(["column1", "column2"], p.Header);
        Assert.Equal([["1", "2"], ["3", "4"]], p.Rows);
        Assert.Equal([1L, 2L], p.Lines);
    }

    [Fact]
    public async Task Splits_into_batches_of_the_configured_size()
    {
        var csv = "n\n" + string.Join("\n", Enumerable.Range(1, 10)) + "\n";
        var p = await ParseAsync(csv, new CsvOptions { BatchRows = 4 }, chunk: 5);
        Assert.Equal(3, p.Batches);
        Assert.Equal(Enumerable.Range(1, 10).Select(i => i.ToString()), p.Rows.Select(r => r[0]));
        Assert.Equal(Enumerable.Range(2, 10).Select(i => (long)i), p.Lines);
    }

    [Fact]
    public async Task Skips_blank_lines_and_counts_them_in_line_numbers()
    {
        var p = await ParseAsync("a,b\n\n1,2\n\r\n3,4\n\n");
        Assert.Equal([["1", "2"], ["3", "4"]], p.Rows);
        Assert.Equal([3L, 5L], p.Lines);
    }

    [Fact]
    public async Task Empty_input_and_header_only_input_have_no_rows()
    {
        var empty = await ParseAsync("");
        Assert.Empty(empty.Header);
        Assert.Empty(empty.Rows);
        var headerOnly = await ParseAsync("a,b\n");
        Assert.Equal(["a", "b"], headerOnly.Header);
        Assert.Empty(headerOnly.Rows);
    }

    [Fact]
    public async Task A_field_larger_than_the_read_buffer_is_read_whole()
    {
        var big = new string('x', 3 * 1024 * 1024);
        var p = await ParseAsync($"a,b\n1,\"{big}\"\n2,y\n", chunk: 64 * 1024);
        Assert.Equal(2, p.Rows.Count);
        Assert.Equal(big, p.Rows[0][1]);
        AssertRow(p.Rows[1], "2", "y");
    }

    [Fact]
    public async Task A_record_over_max_record_bytes_fails_with_the_line()
    {
        var big = new string('x', 2 * 1024 * 1024);
        var e = await Assert.ThrowsAsync<CsvFormatException>(() => ParseAsync($"a\nok\n{big}\n", new CsvOptions { MaxRecordBytes = 1024 * 1024 }));
        Assert.Equal(3, e.Line);
        Assert.Contains("max_record_bytes", e.Message);
    }

    [Fact]
    public async Task Unterminated_quote_names_file_line_and_field()
    {
        var e = await Assert.ThrowsAsync<CsvFormatException>(() => ParseAsync("a,b,c\n1,2,3\n4,\"never closed,6\n7,8,9\n"));
        Assert.Equal("test.csv", e.File);
        Assert.Equal(2, e.Column);
        Assert.StartsWith("test.csv:", e.Message);
        Assert.Contains("unterminated quoted field", e.Message);
    }

    [Fact]
    public async Task Too_few_and_too_many_fields_name_the_line()
    {
        var few = await Assert.ThrowsAsync<CsvFormatException>(() => ParseAsync("a,b,c\n1,2,3\n\"x\ny\",2\n"));
        Assert.Equal("test.csv:3:2: expected 3 fields, found 2", few.Message);
        var many = await Assert.ThrowsAsync<CsvFormatException>(() => ParseAsync("a,b\n1,2\n1,2,3\n"));
        Assert.Equal("test.csv:3:3: expected 2 fields, found more", many.Message);
    }

    [Fact]
    public async Task A_header_wider_than_max_columns_fails_before_it_takes_the_memory_of_its_columns()
    {
        // Found by the fuzzer: a decompressed header of a million commas asked for ~330 KB of buffers per column.
        var wide = await Assert.ThrowsAsync<CsvFormatException>(() => ParseAsync("id" + new string(',', 300_000) + "\n1\n", chunk: 4096));
        Assert.Equal("test.csv:1:2049: more than 2,048 fields (max_columns)", wide.Message);

        var parsed = await ParseAsync("a,b,c\n1,2,3\n", CsvOptions.Default with { MaxColumns = 3 });
        Assert.Equal(["a", "b", "c"], parsed.Header);
        var four = await Assert.ThrowsAsync<CsvFormatException>(() => ParseAsync("a,b,c,d\n", CsvOptions.Default with { MaxColumns = 3 }));
        Assert.Equal("test.csv:1:4: more than 3 fields (max_columns)", four.Message);
    }

    [Fact]
    public async Task Text_after_a_closing_quote_is_an_error()
    {
        var e = await Assert.ThrowsAsync<CsvFormatException>(() => ParseAsync("a,b\n\"ab\"c,d\n"));
        Assert.Equal("test.csv:2:1: unexpected character 'c' after a closing quote (a quote inside a field must be doubled)", e.Message);
    }

    [Fact]
    public async Task Column_is_an_Arrow_string_array_over_the_batch()
    {
        using var parser = new CsvArrowParser(new MemoryStream("a\nx\n\ny\n"u8.ToArray()), "t.csv");
        using var batch = await parser.ReadBatchAsync();
        var column = batch!.Column(0);
        Assert.Equal(2, column.Length);
        Assert.Equal(0, column.NullCount);
        Assert.Equal("x", column.GetString(0));
        Assert.Equal("y", column.GetString(1));
        Assert.Equal(7, parser.BytesConsumed); // every byte, the blank line included
    }
}
