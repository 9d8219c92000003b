using EtlStream.Resilience;

namespace EtlStream.Tests.Resilience;

/// <summary>The shared retry policy's typed outcomes: what is retried, how often, and what stops it.</summary>
public sealed class RemoteRetryTests
{
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(1);

    private static Func<int, CancellationToken, ValueTask<RemoteAttempt<string>>> Script(params RemoteOutcome[] outcomes) =>
        (attempt, _) => ValueTask.FromResult(new RemoteAttempt<string>(outcomes[attempt - 1], $"attempt {attempt}"));

    [Fact]
    public async Task Three_transient_failures_then_success_take_exactly_four_attempts_and_three_retry_events()
    {
        var retried = new List<(int Attempt, string Value)>();
        var policy = new RemoteRetry<string>(8, Short, Short);

        var result = await policy.ExecuteAsync(
            Script(RemoteOutcome.Retry, RemoteOutcome.Retry, RemoteOutcome.Retry, RemoteOutcome.Done),
            (attempt, failed, _) =>
            {
                retried.Add((attempt, failed.Value));
                return ValueTask.CompletedTask;
            },
            default);

        Assert.Equal((RemoteOutcome.Done, "attempt 4", 4), (result.Last.Outcome, result.Last.Value, result.Attempts));
        Assert.Equal([(1, "attempt 1"), (2, "attempt 2"), (3, "attempt 3")], retried);
    }

    [Fact]
    public async Task Attempts_run_out_at_the_limit_with_the_last_attempt_returned()
    {
        var policy = new RemoteRetry<string>(3, Short, Short);

        var result = await policy.ExecuteAsync(Script(RemoteOutcome.Retry, RemoteOutcome.Retry, RemoteOutcome.Retry, RemoteOutcome.Done), null, default);

        Assert.Equal((RemoteOutcome.Retry, "attempt 3", 3), (result.Last.Outcome, result.Last.Value, result.Attempts));
    }

    [Theory]
    [InlineData(nameof(RemoteOutcome.DontRetry))]
    [InlineData(nameof(RemoteOutcome.AlreadyDone))]
    [InlineData(nameof(RemoteOutcome.Done))]
    public async Task A_final_outcome_is_one_attempt(string name)
    {
        var outcome = Enum.Parse<RemoteOutcome>(name);
        var policy = new RemoteRetry<string>(8, Short, Short);

        var result = await policy.ExecuteAsync(Script(outcome, RemoteOutcome.Done), null, default);

        Assert.Equal((outcome, 1), (result.Last.Outcome, result.Attempts));
    }

    [Fact]
    public async Task One_attempt_allowed_is_one_attempt()
    {
        var policy = new RemoteRetry<string>(1, Short, Short);

        var result = await policy.ExecuteAsync(Script(RemoteOutcome.Retry, RemoteOutcome.Done), null, default);

        Assert.Equal((RemoteOutcome.Retry, 1), (result.Last.Outcome, result.Attempts));
    }

    [Fact]
    public async Task An_exception_is_not_retried()
    {
        var attempts = 0;
        var policy = new RemoteRetry<string>(8, Short, Short);

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => policy.ExecuteAsync(
            (_, _) =>
            {
                attempts++;
                throw new InvalidOperationException("bad request");
            },
            null,
            default));

        Assert.Equal(("bad request", 1), (e.Message, attempts));
    }

    /// <summary>A wait of ten minutes before the second attempt: cancelling during it ends the call, with no second attempt.</summary>
    [Fact]
    public async Task Cancellation_during_a_backoff_stops_the_retries_at_once()
    {
        using var cancel = new CancellationTokenSource();
        var attempts = 0;
        var policy = new RemoteRetry<string>(8, TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(10));

        var call = policy.ExecuteAsync(
            (_, _) =>
            {
                attempts++;
                return ValueTask.FromResult(new RemoteAttempt<string>(RemoteOutcome.Retry, "busy", Busy: true));
            },
            (_, _, _) =>
            {
                cancel.CancelAfter(TimeSpan.FromMilliseconds(50));
                return ValueTask.CompletedTask;
            },
            cancel.Token);

        // Generous: only keeps a regression (a wait that ignores the token) from hanging the suite.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.WaitAsync(TimeSpan.FromMinutes(2)));
        Assert.Equal(1, attempts);
    }

    [Fact]
    public async Task A_call_cancelled_before_it_starts_makes_no_attempt()
    {
        var attempts = 0;
        var policy = new RemoteRetry<string>(8, Short, Short);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => policy.ExecuteAsync(
            (_, _) =>
            {
                attempts++;
                return ValueTask.FromResult(new RemoteAttempt<string>(RemoteOutcome.Done, "x"));
            },
            null,
            new CancellationToken(canceled: true)));
        Assert.Equal(0, attempts);
    }

    [Fact]
    public void The_backoff_doubles_up_to_the_cap_and_a_busy_server_waits_at_least_half_the_cap()
    {
        var baseDelay = TimeSpan.FromMilliseconds(500);
        var cap = TimeSpan.FromSeconds(30);

        // Busy, first retry: the ceiling (500 ms) is below half the cap, so floor and ceiling meet.
        Assert.Equal(baseDelay, RemoteRetry<string>.Backoff(1, busy: true, baseDelay, cap));
        for (var i = 0; i < 100; i++)
        {
            Assert.InRange(RemoteRetry<string>.Backoff(3, busy: false, baseDelay, cap), TimeSpan.Zero, TimeSpan.FromSeconds(2));
            Assert.InRange(RemoteRetry<string>.Backoff(20, busy: false, baseDelay, cap), TimeSpan.Zero, cap);
            Assert.InRange(RemoteRetry<string>.Backoff(20, busy: true, baseDelay, cap), TimeSpan.FromSeconds(15), cap);
        }
    }

    [Fact]
    public async Task Doubling_waits_retry_a_broken_attempt_and_stop_at_the_limit()
    {
        var policy = RemoteRetry<string>.Doubling(4, Short);

        var ok = await policy.ExecuteAsync(Script(RemoteOutcome.Retry, RemoteOutcome.Retry, RemoteOutcome.Done), null, default);
        var spent = await policy.ExecuteAsync(Script(RemoteOutcome.Retry, RemoteOutcome.Retry, RemoteOutcome.Retry, RemoteOutcome.Retry, RemoteOutcome.Done), null, default);

        Assert.Equal((RemoteOutcome.Done, 3), (ok.Last.Outcome, ok.Attempts));
        Assert.Equal((RemoteOutcome.Retry, 4), (spent.Last.Outcome, spent.Attempts));
    }
}
