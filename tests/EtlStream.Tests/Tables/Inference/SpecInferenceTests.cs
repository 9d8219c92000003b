using System.Text;
using EtlStream.Formats.Csv;
using EtlStream.Tables.Inference;

namespace EtlStream.Tests.Tables.Inference;

/// <summary>Each inference rule on a one-column CSV sample: the type, format, nullable and note a user gets.</summary>
public sealed class SpecInferenceTests
{
    private static async Task<InferredColumn> OneAsync(string values, int sampleRows = SpecInference.DefaultSampleRows) =>
        (await InferAsync("v\n" + values, sampleRows)).Columns.Single();

    private static async Task<InferredTable> InferAsync(string csv, int sampleRows = SpecInference.DefaultSampleRows)
    {
        using var parser = new CsvArrowParser(new MemoryStream(Encoding.UTF8.GetBytes(csv)), "t.csv");
        return await SpecInference.InferAsync(parser, sampleRows, CancellationToken.None);
    }

    private static (string Type, string? Format, bool Nullable, string? Note) Shape(InferredColumn c) => (c.Type.ToString(), c.Format, c.Nullable, c.Note);

    [Theory]
    [InlineData("00501\n12345\n")]
    [InlineData("12\n007\n")]
    [InlineData("-05\n3\n")]
    [InlineData("1.5\n00.5\n")]
    public async Task Numbers_with_leading_zeros_are_codes_and_stay_text(string values)
    {
        Assert.Equal(("string", null, false, "numbers with leading zeros (codes): kept as text"), Shape(await OneAsync(values)));
    }

    [Fact]
    public async Task A_lone_zero_and_zero_point_are_numbers()
    {
        Assert.Equal(("int64", null, false, null), Shape(await OneAsync("0\n-0\n10\n")));
        Assert.Equal(("decimal(18,2)", null, false, null), Shape(await OneAsync("0.25\n-0.5\n.75\n")));
    }

    [Theory]
    [InlineData("1\n2\nabc\n")]
    [InlineData("1.5\nn/a\n")]
    [InlineData("2024-01-31\n5\n")]
    [InlineData("\"1,234\"\n5\n")]
    [InlineData("true\n1\n")]
    public async Task A_mixed_column_stays_text_without_a_note(string values)
    {
        Assert.Equal(("string", null, false, null), Shape(await OneAsync(values)));
    }

    [Theory]
    [InlineData("1\n-9223372036854775808\n9223372036854775807\n", "int64")]
    [InlineData("1\n2.5\n", "decimal(18,1)")]
    [InlineData("1\n2.5\n1.5e3\n", "float64")]
    [InlineData("1.5E-7\n2\n", "float64")]
    [InlineData("9223372036854775808\n1\n", "decimal(22,0)")]
    public async Task Numbers_widen_int_then_decimal_then_float(string values, string type)
    {
        Assert.Equal((type, null, false, null), Shape(await OneAsync(values)));
    }

    [Theory]
    [InlineData("12.5\n-1234567.125\n0.0001\n", "decimal(18,4)")] // 7 integer digits + scale 4 + 3 = 14: the floor of 18
    [InlineData("123456789012345678901.5\n1.25\n", "decimal(26,2)")] // 21 + 2 + 3
    [InlineData("12345678901234567890123456789012345.1\n", "decimal(38,1)")] // 35 + 1 + 3 = 39: capped at 38
    [InlineData("1234567890123456789012345678901234567.12\n", "float64")] // 37 + 2 digits: past any decimal
    [InlineData("0.123456789012345678901234567890123456789\n", "float64")] // scale 39
    public async Task A_decimal_has_the_largest_scale_and_three_digits_of_headroom(string values, string type)
    {
        Assert.Equal(type, (await OneAsync(values)).Type.ToString());
    }

    [Theory]
    [InlineData("true\nFALSE\nTrue\n", "bool")]
    [InlineData("yes\nNo\nYES\n", "bool")]
    [InlineData("true\nyes\n", "string")]
    [InlineData("t\nf\n", "string")]
    [InlineData("y\nn\n", "string")]
    [InlineData("1\n0\n", "int64")]
    public async Task Bool_is_true_false_or_yes_no_in_any_case_not_mixed(string values, string type)
    {
        Assert.Equal(type, (await OneAsync(values)).Type.ToString());
    }

    [Theory]
    [InlineData("2024-01-31\n2024-02-29\n", "date", "yyyy-MM-dd")]
    [InlineData("31-01-2024\n01-02-2024\n", "date", "dd-MM-yyyy")]
    [InlineData("01/31/2024\n02/01/2024\n", "date", "MM/dd/yyyy")]
    [InlineData("31.01.2024\n", "date", "dd.MM.yyyy")]
    [InlineData("2024-01-31 10:00:00\n2024-02-01 23:59:59.125\n", "timestamp", "yyyy-MM-dd HH:mm:ss")]
    [InlineData("2024-01-31T10:00:00\n2024-02-01T23:59:59\n", "timestamp", "yyyy-MM-ddTHH:mm:ss")]
    [InlineData("2015/01/01 01:00:00\n", "timestamp", "yyyy/MM/dd HH:mm:ss")]
    [InlineData("31/01/2024 08:15\n", "timestamp", "dd/MM/yyyy HH:mm")]
    public async Task Dates_and_timestamps_matching_one_pattern_get_it_as_format(string values, string type, string format)
    {
        Assert.Equal((type, format, false, null), Shape(await OneAsync(values)));
    }

    [Fact]
    public async Task Dates_in_two_patterns_stay_text()
    {
        Assert.Equal(("string", null, false, null), Shape(await OneAsync("2024-01-31\n31-01-2024\n")));
        Assert.Equal(("string", null, false, null), Shape(await OneAsync("2024-01-31\n2024-01-31 10:00:00\n")));
        Assert.Equal(("string", null, false, null), Shape(await OneAsync("2024-02-30\n")));
        Assert.Equal(("string", null, false, null), Shape(await OneAsync("2024-1-5\n")));
    }

    [Fact]
    public async Task Dates_that_fit_day_first_and_month_first_stay_text_with_a_note()
    {
        Assert.Equal(
            ("string", null, false, "every value is a date as dd/MM/yyyy or MM/dd/yyyy: kept as text; set type and format to the right one"),
            Shape(await OneAsync("01/02/2024\n03/04/2024\n12/12/2023\n")));
    }

    [Fact]
    public async Task Nullable_is_true_only_where_the_sample_has_a_null_or_a_blank()
    {
        var table = await InferAsync("id,name,amount,when\n1,,2.5,\"\"\n2,b,\"  \",2024-01-01\n3,c,4,2024-01-02\n");

        Assert.Equal(
            [("int64", null, false, null), ("string", null, true, null), ("decimal(18,1)", null, true, null), ("date", "yyyy-MM-dd", true, null)],
            table.Columns.Select(Shape));

        // A blank in a typed column loads as NULL: quoted "" by null: [""], spaces by trimming first.
        var specs = table.ToColumnSpecs();
        Assert.Equal(
            [(false, false), (false, false), (true, true), (true, false)],
            specs.Select(s => (s.NullTokens.SequenceEqual([""]), s.Trim)));
    }

    [Fact]
    public async Task A_column_with_no_values_is_a_nullable_string()
    {
        Assert.Equal(("string", null, true, "no values in the sample"), Shape((await InferAsync("a,b\n1,\n2,\n")).Columns[1]));
    }

    [Fact]
    public async Task Only_the_first_sample_rows_are_read()
    {
        var table = await InferAsync("v\n1\n2\nlater text\n", sampleRows: 2);

        Assert.Equal((2, "int64"), (table.RowsSampled, table.Columns[0].Type.ToString()));
    }

    [Fact]
    public async Task The_sample_spans_batches_and_stops_inside_one()
    {
        var csv = "v\n1\n2.5\n3\nlater text\n";
        using var parser = new CsvArrowParser(new MemoryStream(Encoding.UTF8.GetBytes(csv)), "t.csv", CsvOptions.Default with { BatchRows = 2 });

        var table = await SpecInference.InferAsync(parser, 3, CancellationToken.None);

        Assert.Equal((3, "decimal(18,1)"), (table.RowsSampled, table.Columns[0].Type.ToString()));
    }

    [Fact]
    public async Task A_header_without_rows_gives_nullable_strings()
    {
        var table = await InferAsync("a,b\n");

        Assert.Equal(0, table.RowsSampled);
        Assert.Equal(["a", "b"], table.Header);
        Assert.All(table.Columns, c => Assert.Equal(("string", null, true, "no values in the sample"), Shape(c)));
    }
}
