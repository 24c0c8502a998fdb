from reasoning.pricing import Money, Price, PriceTable


def test_cost_is_prompt_plus_everything_generated():
    price = Price(input_per_million=0.1, output_per_million=0.4)
    assert price.cost(1_000_000, 0).usd == 0.1
    assert price.cost(0, 1_000_000).usd == 0.4
    assert price.cost(23, 150).usd == (23 * 0.1 + 150 * 0.4) / 1_000_000


def test_a_budget_of_exactly_the_cost_affords_exactly_those_tokens():
    price = Price(input_per_million=0.1, output_per_million=0.4)
    budget = price.cost(23, 150)
    assert price.affordable_completion_tokens(budget, 23) == 150
    assert price.affordable_completion_tokens(budget - Money(1), 23) == 149


def test_a_budget_below_the_prompt_cost_affords_nothing():
    price = Price(input_per_million=1.0, output_per_million=1.0)
    assert price.affordable_completion_tokens(Money.at_most(0.000009), 10) == -1
    assert price.affordable_completion_tokens(Money.at_most(0.00001), 10) == 0


def test_free_output_is_unbounded_and_unknown_models_take_the_default():
    assert Price(0, 0).affordable_completion_tokens(Money(0), 100) > 10**9
    table = PriceTable({"a": Price(1, 2)}, default=Price(3, 4))
    assert table.for_model("a") == Price(1, 2)
    assert table.for_model("b") == Price(3, 4)


def test_a_cap_rounds_down_and_sums_are_exact():
    assert Money.at_most(1e-10).nanos == 0 and Money.at_least(1e-10).nanos == 1  # a cap is never exceeded
    assert Money(600) - Money(250) + Money(1) == Money(351)
