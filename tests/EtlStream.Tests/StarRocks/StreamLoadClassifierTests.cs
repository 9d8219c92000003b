using EtlStream.Sinks.StarRocks;

namespace EtlStream.Tests.StarRocks;

/// <summary>The STREAMLOAD.md status table, row by row, through the one pure classifier.</summary>
public sealed class StreamLoadClassifierTests
{
    [Theory]
    [InlineData(200, """{"Status":"Success","Message":"OK","NumberLoadedRows":3}""", StreamLoadDecision.Committed, false)]
    [InlineData(200, """{"status":"success"}""", StreamLoadDecision.Committed, false)] // field names and values case-insensitive
    [InlineData(200, """{"Status":"Publish Timeout","Message":"data will be visible later"}""", StreamLoadDecision.Committed, false)] // committed: never retried
    [InlineData(200, """{"Status":"Label Already Exists","ExistingJobStatus":"FINISHED"}""", StreamLoadDecision.Committed, false)]
    [InlineData(200, """{"Status":"Label Already Exists","ExistingJobStatus":"RUNNING"}""", StreamLoadDecision.PollLabel, false)]
    [InlineData(200, """{"Status":"Label Already Exists"}""", StreamLoadDecision.Unknown, false)]
    [InlineData(200, """{"Status":"Fail","Message":"tablet writer write failed"}""", StreamLoadDecision.Retry, false)]
    [InlineData(200, """{"Status":"FAILED","Message":"internal error"}""", StreamLoadDecision.Retry, false)] // FAILED is a failure, never success
    [InlineData(200, """{"Status":"failed","Message":"too many filtered rows"}""", StreamLoadDecision.Fail, false)]
    [InlineData(200, """{"Status":"Fail","Message":"Access denied for user 'x'"}""", StreamLoadDecision.Fail, false)]
    [InlineData(200, """{"Status":"Fail","Message":"primary key size exceed the limit"}""", StreamLoadDecision.Fail, false)]
    [InlineData(200, """{"Status":"FAILED","Message":"There is no 100-continue header"}""", StreamLoadDecision.Fail, false)]
    [InlineData(200, """{"Status":"Fail","Message":"current running txns on db 10 is 1000, larger than limit 1000"}""", StreamLoadDecision.Retry, true)] // back off
    [InlineData(200, """{"Status":"Fail","Message":"Stream Load exceed http cuncurrent limit"}""", StreamLoadDecision.Retry, true)]
    [InlineData(200, """{"Status":"Fail","Message":"Too many versions. tablet_id: 1, version_count: 1001, limit: 1000"}""", StreamLoadDecision.Retry, true)]
    [InlineData(401, "", StreamLoadDecision.Fail, false)]
    [InlineData(503, "", StreamLoadDecision.Unknown, false)] // non-200: retryable, after get_load_state says it did not commit
    [InlineData(500, "<html>oops</html>", StreamLoadDecision.Unknown, false)]
    [InlineData(200, "not json", StreamLoadDecision.Unknown, false)] // an unparseable 200 is never re-sent blind
    [InlineData(200, "", StreamLoadDecision.Unknown, false)]
    [InlineData(200, """{"Status":"Mystery"}""", StreamLoadDecision.Unknown, false)]
    [InlineData(200, """{"Status":"OK","Message":""}""", StreamLoadDecision.Committed, false)] // transaction endpoints
    [InlineData(200, """{"Status":"OK","Message":"Transaction already commited"}""", StreamLoadDecision.Committed, false)]
    [InlineData(200, """{"Status":"LABEL_ALREADY_EXISTS","ExistingJobStatus":"FINISHED"}""", StreamLoadDecision.Committed, false)]
    [InlineData(200, """{"Status":"FAILED","Message":"TXN_NOT_EXISTS"}""", StreamLoadDecision.Fail, false)]
    [InlineData(200, """{"Status":"TXN_IN_PROCESSING"}""", StreamLoadDecision.Retry, true)]
    public void Classifies_a_reply_as_the_status_table_says(int status, string body, StreamLoadDecision expected, bool busy)
    {
        var outcome = StreamLoadClassifier.Classify(status, body);

        Assert.Equal(expected, outcome.Decision);
        Assert.Equal(busy, outcome.Busy);
    }

    [Fact]
    public void No_reply_at_all_is_an_unknown_outcome()
    {
        Assert.Equal(new StreamLoadOutcome(StreamLoadDecision.Unknown, "no reply"), StreamLoadClassifier.Classify(null, null));
    }

    [Fact]
    public void A_reply_keeps_its_counts_and_error_url_and_ignores_unknown_fields()
    {
        var outcome = StreamLoadClassifier.Classify(200,
            """{"TxnId":7,"Label":"l","Status":"Success","NumberTotalRows":"5","NumberLoadedRows":4,"numberfilteredrows":1,"ErrorURL":"http://be/api/_load_error_log?file=x","NewField":[1]}""");

        Assert.Equal(StreamLoadDecision.Committed, outcome.Decision);
        Assert.Equal((7L, 5L, 4L, 1L, "http://be/api/_load_error_log?file=x"),
            (outcome.Response!.TxnId, outcome.Response.NumberTotalRows, outcome.Response.NumberLoadedRows, outcome.Response.NumberFilteredRows, outcome.Response.ErrorURL));
        Assert.True(outcome.HasFilteredRows);
    }

    [Theory]
    [InlineData("VISIBLE", StreamLoadDecision.Committed)]
    [InlineData("committed", StreamLoadDecision.Committed)]
    [InlineData("PREPARE", StreamLoadDecision.PollLabel)]
    [InlineData("PREPARED", StreamLoadDecision.PollLabel)]
    [InlineData("ABORTED", StreamLoadDecision.Retry)]
    [InlineData("UNKNOWN", StreamLoadDecision.Retry)]
    [InlineData(null, StreamLoadDecision.Unknown)]
    [InlineData("", StreamLoadDecision.Unknown)]
    public void Classifies_a_get_load_state_label_state(string? state, StreamLoadDecision expected)
    {
        Assert.Equal(expected, StreamLoadClassifier.ClassifyLabelState(state));
    }

    [Fact]
    public void Reads_the_state_of_get_load_state_from_starrocks_and_doris_shapes()
    {
        Assert.Equal("VISIBLE", StreamLoadResponse.TryParse("""{"Status":"OK","State":"VISIBLE"}""")!.LabelState);
        Assert.Equal("VISIBLE", StreamLoadResponse.TryParse("""{"msg":"success","code":0,"data":"visible","count":0}""")!.LabelState);
    }
}
