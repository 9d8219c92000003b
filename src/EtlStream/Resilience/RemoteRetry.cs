using Polly;
using Polly.Retry;

namespace EtlStream.Resilience;

/// <summary>What one attempt of a remote call came to, as the retry policy acts on it.</summary>
internal enum RemoteOutcome
{
    /// <summary>Done by this attempt.</summary>
    Done,

    /// <summary>
    /// Done before this attempt (by an earlier try or an earlier run, e.g. a label the server already committed): counted
    /// as done, nothing of it is sent again.
    /// </summary>
    AlreadyDone,

    /// <summary>Transient (no reply, a reset, a 5xx, a busy cluster, a timeout): another attempt may succeed, after a backoff.</summary>
    Retry,

    /// <summary>Another attempt would fail the same way (bad data, bad credentials, a 4xx): the call fails now.</summary>
    DontRetry,
}

/// <summary>One attempt's outcome and what the caller needs of it (the reply, the rows) to act or to word its error.</summary>
/// <param name="Busy">The server said it is busy: the next attempt waits at least half the backoff cap.</param>
internal readonly record struct RemoteAttempt<T>(RemoteOutcome Outcome, T Value, bool Busy = false)
{
    public bool IsDone => Outcome is RemoteOutcome.Done or RemoteOutcome.AlreadyDone;
}

/// <summary>
/// How a call ended: its last attempt, and how many attempts it took. A last outcome of <see cref="RemoteOutcome.Retry"/>
/// means the attempts ran out.
/// </summary>
internal readonly record struct RemoteResult<T>(RemoteAttempt<T> Last, int Attempts);

/// <summary>
/// The one retry policy for calls to a remote server (StarRocks/Doris Stream Load and transactions, the FE's SQL, an
/// object's ranged reads): Polly 8 runs the attempts, the waits and the retry event; each call site only classifies an
/// attempt into a <see cref="RemoteOutcome"/> (a pure decision, as <see cref="Sinks.StarRocks.StreamLoadClassifier"/> is) and words its own
/// error from the <see cref="RemoteResult{T}"/>. An exception from an attempt is not retried here: a call site that
/// knows an exception to be transient catches it and returns <see cref="RemoteOutcome.Retry"/>. Cancellation stops the
/// calls at once, in an attempt or in a wait.
/// </summary>
internal sealed class RemoteRetry<T>
{
    private static readonly ResiliencePropertyKey<Call> CallKey = new("etlstream.remote-retry.call");
    private readonly ResiliencePipeline<RemoteAttempt<T>> _pipeline;

    /// <summary>Jittered waits: calls from many clients to one server (a cluster's loads) must not retry in step.</summary>
    /// <param name="maxAttempts">Attempts in all (1: no retry).</param>
    /// <param name="backoffBase">The first retry's longest wait; it doubles with each retry up to <paramref name="backoffCap"/> (zero: retry at once).</param>
    public RemoteRetry(int maxAttempts, TimeSpan backoffBase, TimeSpan backoffCap)
        : this(maxAttempts, options =>
        {
            // Full jitter under an exponential ceiling, with a floor for a busy cluster. Polly's own jitter is
            // decorrelated and has no floor; this keeps the waits the sinks have always had.
            options.DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(Backoff(args.AttemptNumber + 1, args.Outcome.Result.Busy, backoffBase, backoffCap));
        })
    {
    }

    private RemoteRetry(int maxAttempts, Action<RetryStrategyOptions<RemoteAttempt<T>>> delays)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttempts, 1);
        MaxAttempts = maxAttempts;
        if (maxAttempts == 1)
        {
            _pipeline = ResiliencePipeline<RemoteAttempt<T>>.Empty; // Polly's retry needs at least one retry
            return;
        }

        var options = new RetryStrategyOptions<RemoteAttempt<T>>
        {
            MaxRetryAttempts = maxAttempts - 1,
            ShouldHandle = static args => ValueTask.FromResult(args.Outcome is { Exception: null, Result.Outcome: RemoteOutcome.Retry }),
            OnRetry = static args => args.Context.Properties.GetValue(CallKey, null!).OnRetryAsync(args),
        };
        delays(options);
        _pipeline = new ResiliencePipelineBuilder<RemoteAttempt<T>>().AddRetry(options).Build();
    }

    /// <summary>
    /// Waits of <paramref name="firstDelay"/>, doubling with each retry, no jitter (Polly's exponential backoff): for a
    /// reader's own retries of one object, which no other client's are in step with.
    /// </summary>
    public static RemoteRetry<T> Doubling(int maxAttempts, TimeSpan firstDelay) => new(maxAttempts, options =>
    {
        options.BackoffType = DelayBackoffType.Exponential;
        options.Delay = firstDelay;
        options.UseJitter = false;
    });

    public int MaxAttempts { get; }

    /// <summary>
    /// Runs <paramref name="attempt"/> (given the attempt's number, from 1) until it is done, must not be retried, or
    /// the attempts run out. <paramref name="onRetry"/> runs before each wait, with the attempt that is retried.
    /// </summary>
    public async Task<RemoteResult<T>> ExecuteAsync(
        Func<int, CancellationToken, ValueTask<RemoteAttempt<T>>> attempt,
        Func<int, RemoteAttempt<T>, CancellationToken, ValueTask>? onRetry,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(attempt);
        var call = new Call(attempt, onRetry);
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(CallKey, call);
        try
        {
            var last = await _pipeline.ExecuteAsync(static (ctx, c) => c.RunAsync(ctx.CancellationToken), context, call).ConfigureAwait(false);
            return new RemoteResult<T>(last, call.Attempts);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>The wait before retry <paramref name="attempt"/>: up to min(cap, base·2^(attempt−1)), at least half the cap when busy.</summary>
    internal static TimeSpan Backoff(int attempt, bool busy, TimeSpan backoffBase, TimeSpan backoffCap)
    {
        var ceiling = Math.Min(backoffCap.TotalMilliseconds, backoffBase.TotalMilliseconds * Math.Pow(2, attempt - 1));
        var floor = busy ? Math.Min(ceiling, backoffCap.TotalMilliseconds / 2) : 0;
        return TimeSpan.FromMilliseconds(floor + (Random.Shared.NextDouble() * (ceiling - floor)));
    }

    private sealed class Call(Func<int, CancellationToken, ValueTask<RemoteAttempt<T>>> attempt, Func<int, RemoteAttempt<T>, CancellationToken, ValueTask>? onRetry)
    {
        public int Attempts { get; private set; }

        public ValueTask<RemoteAttempt<T>> RunAsync(CancellationToken cancellationToken) => attempt(++Attempts, cancellationToken);

        public ValueTask OnRetryAsync(OnRetryArguments<RemoteAttempt<T>> args) =>
            onRetry is null ? ValueTask.CompletedTask : onRetry(Attempts, args.Outcome.Result, args.Context.CancellationToken);
    }
}
