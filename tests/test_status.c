/* dgxm_error keeps the first failure and formats its message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dgxm/status.h"

static void first_error_wins(void **state)
{
    (void)state;
    dgxm_error err;
    dgxm_error_clear(&err);
    assert_int_equal(dgxm_error_set(&err, DGXM_ERR_FORMAT, "%s: bad %d", "a.json", 7),
                     DGXM_ERR_FORMAT);
    assert_int_equal(dgxm_error_set(&err, DGXM_ERR_IO, "later"), DGXM_ERR_IO);
    assert_int_equal(err.status, DGXM_ERR_FORMAT);
    assert_string_equal(err.message, "a.json: bad 7");
}

static void null_error_is_allowed(void **state)
{
    (void)state;
    assert_int_equal(dgxm_error_set(NULL, DGXM_ERR_NOMEM, "x"), DGXM_ERR_NOMEM);
    assert_string_equal(dgxm_status_name(DGXM_ERR_NOMEM), "out of memory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_error_wins),
        cmocka_unit_test(null_error_is_allowed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
