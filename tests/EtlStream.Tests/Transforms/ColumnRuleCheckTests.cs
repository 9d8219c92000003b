using System.Text;
using Apache.Arrow;
using EtlStream.Formats.Csv;
using EtlStream.Tables;
using EtlStream.Transforms;

namespace EtlStream.Tests.Transforms;

/// <summary>Regex rules on hostile values: an answer for every row, never a batch stuck in backtracking.</summary>
public class ColumnRuleCheckTests
{
    private static async Task<TransformedBatch> TransformAsync(string regex, string csv, CancellationToken token = default)
    {
        var spec = TableSpecReader.Read($"table: t\ncolumns:\n  - {{ name: v, type: string, rules: {{ regex: '{regex}' }} }}\n", "s.yaml");
        var transform = new TableTransform(spec, new DateOnly(2026, 11, 24));
        using var parser = new CsvArrowParser(new MemoryStream(Encoding.UTF8.GetBytes(csv)), "in.csv", spec.Csv);
        var bound = transform.Bind("in.csv", await parser.ReadHeaderAsync());
        using var batch = (await parser.ReadBatchAsync())!;

        // A generous guard: without it a regression would hang the test run instead of failing.
        return await Task.Run(() => bound.Apply(batch, token)).WaitAsync(TimeSpan.FromMinutes(2));
    }

    private static List<string?> Values(TransformedBatch result) =>
        [.. Enumerable.Range(0, result.Batch.Length).Select(i => ((StringArray)result.Batch.Column(0)).GetString(i))];

    [Fact]
    public async Task The_catastrophic_pattern_of_the_issue_answers_every_row_correctly()
    {
        var bad = new string('a', 34) + "!"; // 35 characters: minutes of backtracking on a backtracking engine
        var csv = "v\n" + bad + "\nabc def 123\n" + new string('a', 35) + "\nabc  def\n";
        using var result = await TransformAsync(@"^([a-zA-Z0-9]+\s?)+$", csv);

        Assert.Equal(["abc def 123", new string('a', 35)], Values(result));
        Assert.Equal([(2L, "regex", bad, @"does not match /^([a-zA-Z0-9]+\s?)+$/"), (5L, "regex", "abc  def", @"does not match /^([a-zA-Z0-9]+\s?)+$/")],
            result.Rejected.Select(r => (r.Line, r.Rule, r.Value, r.Reason)));
    }

    [Fact]
    public async Task A_backreference_runs_on_the_backtracking_engine_and_still_decides()
    {
        using var result = await TransformAsync(@"^(\d)\1$", "v\n11\n12\n");
        Assert.Equal(["11"], Values(result));
        Assert.Equal([(3L, @"does not match /^(\d)\1$/")], result.Rejected.Select(r => (r.Line, r.Reason)));
    }

    [Fact]
    public async Task A_backtracking_pattern_that_gives_no_answer_within_1_s_rejects_the_row()
    {
        // The backreference keeps it off the linear engine; (…+)+ before a failing end backtracks exponentially.
        const string pattern = @"^(([a-z])+\s?)+\2!$";
        var bad = new string('a', 40);
        using var result = await TransformAsync(pattern, "v\n" + bad + "\nab b!\n");

        Assert.Equal(["ab b!"], Values(result));
        var reject = Assert.Single(result.Rejected);
        Assert.Equal((2L, "regex", bad, $"/{pattern}/ gave no answer within 1 s"), (reject.Line, reject.Rule, reject.Value, reject.Reason));
    }

    [Fact]
    public async Task A_backtracking_rule_stops_when_the_run_is_cancelled()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => TransformAsync(@"^(([a-z])+\s?)+\2!$", "v\n" + new string('a', 40) + "\n", cancelled.Token));
    }

    [Fact]
    public void An_invalid_pattern_is_a_spec_error()
    {
        var e = Assert.Throws<ConfigException>(() => TableSpecReader.Read("table: t\ncolumns:\n  - { name: v, type: string, rules: { regex: '(a' } }\n", "s.yaml"));
        Assert.StartsWith("s.yaml: columns[0].rules.regex: invalid regular expression: ", Assert.Single(e.Errors));
    }
}
